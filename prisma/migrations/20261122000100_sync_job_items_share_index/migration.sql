-- A share reads its next pending items in id order: one index range instead of filtering the whole job.
-- DropIndex
DROP INDEX "sync_job_items_job_id_status_idx";

-- CreateIndex
CREATE INDEX "sync_job_items_job_id_device_id_status_id_idx" ON "sync_job_items"("job_id", "device_id", "status", "id");
