-- CreateEnum
CREATE TYPE "AttendanceStatus" AS ENUM ('PRESENT', 'LATE', 'ABSENT', 'EXCUSED');

-- AlterTable
ALTER TABLE "devices" ADD COLUMN     "last_event_at" TIMESTAMPTZ(3),
ADD COLUMN     "last_event_serial_no" INTEGER,
ADD COLUMN     "last_heartbeat_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "webhook_secrets" (
    "id" UUID NOT NULL,
    "school_id" UUID NOT NULL,
    "direction" "DeviceDirection" NOT NULL,
    "secret" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "event_inbox" (
    "id" BIGSERIAL NOT NULL,
    "school_id" UUID NOT NULL,
    "direction" "DeviceDirection" NOT NULL,
    "remote_ip" TEXT,
    "content_type" TEXT,
    "body" BYTEA NOT NULL,
    "body_truncated" BOOLEAN NOT NULL DEFAULT false,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),
    "error_code" TEXT,
    "error_message" TEXT,
    "event_count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "event_inbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attendance_events" (
    "id" BIGSERIAL NOT NULL,
    "school_id" UUID NOT NULL,
    "device_id" UUID,
    "student_id" UUID,
    "employee_no" TEXT,
    "direction" "DeviceDirection" NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "device_time" TEXT,
    "serial_no" INTEGER,
    "major" INTEGER NOT NULL,
    "minor" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "counts_for_attendance" BOOLEAN NOT NULL DEFAULT false,
    "source" TEXT NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "sender_key" TEXT,
    "picture_path" TEXT,
    "inbox_id" BIGINT,
    "payload" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "attendance_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "daily_attendance" (
    "school_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "date" DATE NOT NULL,
    "status" "AttendanceStatus" NOT NULL,
    "first_in_at" TIMESTAMPTZ(3),
    "last_out_at" TIMESTAMPTZ(3),
    "in_school" BOOLEAN NOT NULL DEFAULT false,
    "scan_count" INTEGER NOT NULL DEFAULT 0,
    "late_minutes" INTEGER NOT NULL DEFAULT 0,
    "minutes_on_premises" INTEGER NOT NULL DEFAULT 0,
    "manual" BOOLEAN NOT NULL DEFAULT false,
    "note" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "daily_attendance_pkey" PRIMARY KEY ("student_id","date")
);

-- CreateIndex
CREATE INDEX "webhook_secrets_school_id_direction_idx" ON "webhook_secrets"("school_id", "direction");

-- CreateIndex
CREATE INDEX "event_inbox_processed_at_id_idx" ON "event_inbox"("processed_at", "id");

-- CreateIndex
CREATE INDEX "event_inbox_school_id_received_at_idx" ON "event_inbox"("school_id", "received_at");

-- CreateIndex
CREATE INDEX "attendance_events_school_id_occurred_at_idx" ON "attendance_events"("school_id", "occurred_at");

-- CreateIndex
CREATE INDEX "attendance_events_student_id_occurred_at_idx" ON "attendance_events"("student_id", "occurred_at");

-- CreateIndex
CREATE INDEX "attendance_events_device_id_serial_no_idx" ON "attendance_events"("device_id", "serial_no");

-- CreateIndex
CREATE UNIQUE INDEX "attendance_events_school_id_dedupe_key_key" ON "attendance_events"("school_id", "dedupe_key");

-- CreateIndex
CREATE INDEX "daily_attendance_school_id_date_idx" ON "daily_attendance"("school_id", "date");

-- AddForeignKey
ALTER TABLE "webhook_secrets" ADD CONSTRAINT "webhook_secrets_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attendance_events" ADD CONSTRAINT "attendance_events_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "daily_attendance" ADD CONSTRAINT "daily_attendance_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "daily_attendance" ADD CONSTRAINT "daily_attendance_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "students"("id") ON DELETE CASCADE ON UPDATE CASCADE;
