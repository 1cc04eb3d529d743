import type { DbClient } from '../../lib/db.js'
import { closedJobStatus } from '../sync/sync.repository.js'

export interface ReportedResult {
  jobId: string
  deviceId: string
  studentId: string
  employeeNo: string
  ok: boolean
  errorMessage: string | null
}

/**
 * Writes a result a client reports for one device as that device's item of the job, overriding what
 * the item said, and moves the job's counts (and, once ended, its status) along. A device the job
 * did not target joins it as an already finished share. Locks the item before the job, as the
 * runner's own writes do.
 */
export async function recordReportedResult (tx: DbClient, r: ReportedResult) {
  await tx.$executeRawUnsafe(`
    INSERT INTO sync_job_devices (job_id, device_id, status, started_at, finished_at)
    VALUES ($1::uuid, $2::uuid, 'succeeded', now(), now()) ON CONFLICT (job_id, device_id) DO NOTHING`, r.jobId, r.deviceId)
  const status = r.ok ? 'success' : 'failed'
  const code = r.ok ? null : 'DEVICE_RESULT_FAILED'
  const message = r.ok ? null : (r.errorMessage ?? 'Reported as failed by the client').slice(0, 1000)
  const [old] = await tx.$queryRawUnsafe<Array<{ id: bigint, status: string }>>(`
    SELECT id, status::text AS status FROM sync_job_items WHERE job_id = $1::uuid AND device_id = $2::uuid AND employee_no = $3 FOR UPDATE`,
  r.jobId, r.deviceId, r.employeeNo)
  if (old) {
    await tx.$executeRawUnsafe(`
      UPDATE sync_job_items SET status = $2::"SyncItemStatus", step = 'reported', error_code = $3, error_message = $4, attempts = attempts + 1, finished_at = now()
      WHERE id = $1`, old.id, status, code, message)
  } else {
    await tx.$executeRawUnsafe(`
      INSERT INTO sync_job_items (job_id, device_id, student_id, employee_no, action, status, step, error_code, error_message, attempts, finished_at)
      VALUES ($1::uuid, $2::uuid, $3::uuid, $4, 'upsert', $5::"SyncItemStatus", 'reported', $6, $7, 1, now())`,
    r.jobId, r.deviceId, r.studentId, r.employeeNo, status, code, message)
  }
  const was = (s: string) => (old?.status === s ? 1 : 0)
  const delta = {
    total: old ? 0 : 1,
    done: !old || old.status === 'pending' ? 1 : 0,
    success: (r.ok ? 1 : 0) - was('success'),
    failed: (r.ok ? 0 : 1) - was('failed'),
    skipped: -was('skipped'),
  }
  // Deltas, not a recount: a running job's shares still hold results they have not added yet
  // (addCountsAndCheckCancel), which a recount would count twice. SET sees the old counts, hence the
  // deltas in the status too.
  await tx.$executeRawUnsafe(`
    UPDATE sync_jobs SET total = total + $2, done = done + $3, success = success + $4, failed = failed + $5, skipped = skipped + $6,
      last_error = CASE WHEN $7::text IS NULL THEN last_error ELSE $7 END,
      status = CASE WHEN status IN ('succeeded', 'partial', 'failed')
        THEN ${closedJobStatus({ success: 'success + $4', failed: 'failed + $5', skipped: 'skipped + $6' })} ELSE status END,
      updated_at = now()
    WHERE id = $1::uuid`,
  r.jobId, delta.total, delta.done, delta.success, delta.failed, delta.skipped, message)
}
