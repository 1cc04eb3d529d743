-- CreateEnum
CREATE TYPE "DeviceDirection" AS ENUM ('in', 'out', 'both');

-- CreateTable
CREATE TABLE "devices" (
    "id" UUID NOT NULL,
    "school_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "direction" "DeviceDirection" NOT NULL,
    "location" TEXT,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "https" BOOLEAN NOT NULL DEFAULT false,
    "tls_insecure" BOOLEAN NOT NULL DEFAULT false,
    "auth_mode" TEXT NOT NULL DEFAULT 'digest',
    "username" TEXT,
    "password_encrypted" TEXT,
    "device_id" TEXT,
    "serial_number" TEXT,
    "mac_address" TEXT,
    "model" TEXT,
    "firmware" TEXT,
    "capabilities" JSONB,
    "last_seen_at" TIMESTAMPTZ(3),
    "last_call_at" TIMESTAMPTZ(3),
    "last_error_code" TEXT,
    "last_error_message" TEXT,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "devices_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "devices_device_id_key" ON "devices"("device_id");

-- CreateIndex
CREATE INDEX "devices_school_id_idx" ON "devices"("school_id");

-- CreateIndex
CREATE INDEX "devices_mac_address_idx" ON "devices"("mac_address");

-- CreateIndex
CREATE INDEX "devices_serial_number_idx" ON "devices"("serial_number");

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
