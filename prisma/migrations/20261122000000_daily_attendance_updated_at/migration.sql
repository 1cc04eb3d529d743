-- CreateIndex
CREATE INDEX "daily_attendance_school_id_updated_at_idx" ON "daily_attendance"("school_id", "updated_at");
