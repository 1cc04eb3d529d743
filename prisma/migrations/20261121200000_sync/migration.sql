-- CreateEnum
CREATE TYPE "InactiveOnDevice" AS ENUM ('remove', 'disable');

-- CreateEnum
CREATE TYPE "SyncJobStatus" AS ENUM ('queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "SyncItemStatus" AS ENUM ('pending', 'success', 'failed', 'skipped', 'cancelled');

-- CreateEnum
CREATE TYPE "PersonDeviceState" AS ENUM ('pending', 'synced', 'failed', 'removed');

-- AlterTable
ALTER TABLE "schools" ADD COLUMN     "inactive_on_device" "InactiveOnDevice" NOT NULL DEFAULT 'remove';

-- CreateTable
CREATE TABLE "sync_jobs" (
    "id" UUID NOT NULL,
    "school_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "status" "SyncJobStatus" NOT NULL DEFAULT 'queued',
    "params" JSONB NOT NULL,
    "total" INTEGER NOT NULL DEFAULT 0,
    "done" INTEGER NOT NULL DEFAULT 0,
    "success" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_by_id" UUID,
    "created_by_email" TEXT,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "cancelled_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sync_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_job_devices" (
    "job_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "status" "SyncJobStatus" NOT NULL DEFAULT 'queued',
    "error_code" TEXT,
    "error_message" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sync_job_devices_pkey" PRIMARY KEY ("job_id","device_id")
);

-- CreateTable
CREATE TABLE "sync_job_items" (
    "id" BIGSERIAL NOT NULL,
    "job_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "student_id" UUID,
    "employee_no" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "status" "SyncItemStatus" NOT NULL DEFAULT 'pending',
    "step" TEXT,
    "error_code" TEXT,
    "error_message" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sync_job_items_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "person_devices" (
    "student_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "employee_no" TEXT NOT NULL,
    "state" "PersonDeviceState" NOT NULL DEFAULT 'pending',
    "synced_version" INTEGER,
    "face_photo_version" INTEGER,
    "face_on_device" BOOLEAN NOT NULL DEFAULT false,
    "last_error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "synced_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "person_devices_pkey" PRIMARY KEY ("student_id","device_id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "id" UUID NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "response" JSONB NOT NULL,
    "status_code" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sync_jobs_school_id_created_at_idx" ON "sync_jobs"("school_id", "created_at");

-- CreateIndex
CREATE INDEX "sync_jobs_status_idx" ON "sync_jobs"("status");

-- CreateIndex
CREATE UNIQUE INDEX "sync_jobs_school_id_idempotency_key_key" ON "sync_jobs"("school_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "sync_job_devices_device_id_idx" ON "sync_job_devices"("device_id");

-- CreateIndex
CREATE INDEX "sync_job_items_job_id_status_idx" ON "sync_job_items"("job_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "sync_job_items_job_id_device_id_employee_no_key" ON "sync_job_items"("job_id", "device_id", "employee_no");

-- CreateIndex
CREATE INDEX "person_devices_device_id_state_idx" ON "person_devices"("device_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "idempotency_keys_scope_key_key" ON "idempotency_keys"("scope", "key");

-- AddForeignKey
ALTER TABLE "sync_jobs" ADD CONSTRAINT "sync_jobs_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_job_devices" ADD CONSTRAINT "sync_job_devices_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "sync_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_job_devices" ADD CONSTRAINT "sync_job_devices_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_job_items" ADD CONSTRAINT "sync_job_items_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "sync_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "person_devices" ADD CONSTRAINT "person_devices_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "students"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "person_devices" ADD CONSTRAINT "person_devices_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
