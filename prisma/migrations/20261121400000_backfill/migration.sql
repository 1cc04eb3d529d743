-- CreateTable
CREATE TABLE "device_backfills" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "trigger" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL,
    "from_serial" INTEGER,
    "to_serial" INTEGER,
    "found" INTEGER NOT NULL DEFAULT 0,
    "inserted" INTEGER NOT NULL DEFAULT 0,
    "error_code" TEXT,
    "error_message" TEXT,

    CONSTRAINT "device_backfills_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_backfills_device_id_started_at_idx" ON "device_backfills"("device_id", "started_at");

-- AddForeignKey
ALTER TABLE "device_backfills" ADD CONSTRAINT "device_backfills_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
