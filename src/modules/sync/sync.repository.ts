import type { Prisma, PrismaClient, SyncItemStatus, SyncJobStatus } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'

export type ItemAction = 'upsert' | 'face' | 'remove' | 'disable' | 'copy'

export interface ItemResult {
  id: bigint
  status: Extract<SyncItemStatus, 'success' | 'failed' | 'skipped'>
  step?: string | null
  errorCode?: string | null
  errorMessage?: string | null
}

export interface PersonDeviceChange {
  studentId: string
  deviceId: string
  employeeNo: string
  state: 'synced' | 'failed' | 'removed'
  syncedVersion?: number | null
  facePhotoVersion?: number | null
  faceOnDevice?: boolean
  lastError?: string | null
}

const TERMINAL_JOB: SyncJobStatus[] = ['succeeded', 'partial', 'failed', 'cancelled']
export const isFinished = (s: SyncJobStatus) => TERMINAL_JOB.includes(s)

/** Items of a job for the given students × devices, as one INSERT … SELECT (nothing loaded into memory). */
export async function insertStudentItems (tx: DbClient, o: {
  jobId: string, schoolId: string, deviceIds: string[], studentIds?: string[], action: ItemAction, inactiveAction: 'remove' | 'disable' | null, photosOnly?: boolean
}) {
  // Inactive or deleted persons: only where we may have put them, or when named explicitly.
  const inactive = o.inactiveAction
    ? `OR ((s.status <> 'active' OR s.deleted_at IS NOT NULL) AND (NOT $7 OR EXISTS (
        SELECT 1 FROM person_devices pd WHERE pd.student_id = s.id AND pd.device_id = d.id AND pd.state <> 'removed')))`
    : ''
  const photo = o.photosOnly ? 'AND s.photo_url IS NOT NULL' : ''
  return tx.$executeRawUnsafe(`
    INSERT INTO sync_job_items (job_id, device_id, student_id, employee_no, action)
    SELECT $1::uuid, d.id, s.id, s.employee_no,
           CASE WHEN s.status = 'active' AND s.deleted_at IS NULL THEN $5 ELSE $6 END
    FROM students s CROSS JOIN unnest($3::uuid[]) AS d(id)
    WHERE s.school_id = $2::uuid AND ($7::boolean OR s.id = ANY($4::uuid[]))
      AND ((s.status = 'active' AND s.deleted_at IS NULL ${photo}) ${inactive})
    ON CONFLICT (job_id, device_id, employee_no) DO NOTHING`,
  o.jobId, o.schoolId, o.deviceIds, o.studentIds ?? [], o.action, o.inactiveAction ?? o.action, o.studentIds === undefined)
}

/**
 * Runs one SQL statement, prepared once per connection under `name`; item results go through a pool
 * whose commits do not wait for the disk (see sync/index.ts).
 */
export type SqlRunner = (name: string, text: string, params: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>

/**
 * The state to store: `synced` becomes `pending` when the student's version has moved past the one
 * the device got (an edit committed while it was being sent).
 */
const stateBehindStudent = (studentId: string, state: string, syncedVersion: string) =>
  `(CASE WHEN ${state} = 'synced' AND ${syncedVersion}::int < (SELECT version FROM students WHERE id = ${studentId}::uuid)
     THEN 'pending' ELSE ${state} END)::"PersonDeviceState"`

const PERSON_DEVICE_UPSERT = `
  ON CONFLICT (student_id, device_id) DO UPDATE SET
    employee_no = EXCLUDED.employee_no,
    state = EXCLUDED.state,
    synced_version = CASE WHEN EXCLUDED.state = 'failed' THEN person_devices.synced_version ELSE EXCLUDED.synced_version END,
    face_photo_version = CASE WHEN EXCLUDED.state = 'failed' THEN person_devices.face_photo_version ELSE EXCLUDED.face_photo_version END,
    face_on_device = CASE WHEN EXCLUDED.state = 'failed' THEN person_devices.face_on_device ELSE EXCLUDED.face_on_device END,
    last_error = EXCLUDED.last_error,
    attempts = CASE WHEN EXCLUDED.state = 'failed' THEN person_devices.attempts + 1 ELSE 0 END,
    synced_at = CASE WHEN EXCLUDED.state = 'failed' THEN person_devices.synced_at ELSE now() END,
    updated_at = now()`

/**
 * Moves one item out of `pending` and writes the person-on-device state, in one statement. Returns
 * the new status, or null when the item was already final (a repeat after a crash changes nothing).
 * Job counters are not touched here: the runner adds them up per share (one hot row for every
 * device would serialise the devices), and the job is recounted exactly when it closes.
 */
export async function recordItem (sql: SqlRunner, r: ItemResult, pd?: PersonDeviceChange) {
  const { rows } = await sql('sync_record_item', `
    WITH it AS (
      UPDATE sync_job_items SET status = $2::"SyncItemStatus", step = $3, error_code = $4, error_message = $5,
             attempts = attempts + 1, finished_at = now()
      WHERE id = $1 AND status = 'pending' RETURNING status
    ), pd AS (
      INSERT INTO person_devices (student_id, device_id, employee_no, state, synced_version, face_photo_version, face_on_device, last_error, attempts, synced_at, updated_at)
      SELECT $6::uuid, $7::uuid, $8, ${stateBehindStudent('$6', '$9', '$10')}, $10::int, $11::int, $12::boolean, $13,
             CASE WHEN $9 = 'failed' THEN 1 ELSE 0 END, CASE WHEN $9 = 'failed' THEN NULL ELSE now() END, now()
      WHERE $6::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM it)
      ${PERSON_DEVICE_UPSERT}
    )
    SELECT status::text FROM it`,
  [String(r.id), r.status, r.step ?? null, r.errorCode ?? null, r.errorMessage?.slice(0, 1000) ?? null,
    pd?.studentId ?? null, pd?.deviceId ?? null, pd?.employeeNo ?? null, pd?.state ?? null, pd?.syncedVersion ?? null,
    pd?.facePhotoVersion ?? null, pd?.faceOnDevice ?? false, pd?.lastError ?? null])
  return (rows[0]?.status as ItemResult['status'] | undefined) ?? null
}

export interface CountDelta { done: number, success: number, failed: number, skipped: number, lastError: string | null }
export const emptyDelta = (): CountDelta => ({ done: 0, success: 0, failed: 0, skipped: 0, lastError: null })
/** Both deltas in one; `newer`'s last error wins. */
export const addDeltas = (newer: CountDelta, older: CountDelta): CountDelta => ({
  done: newer.done + older.done, success: newer.success + older.success, failed: newer.failed + older.failed,
  skipped: newer.skipped + older.skipped, lastError: newer.lastError ?? older.lastError,
})

/**
 * Adds a share's recent results to the job's progress counters and says whether the job was
 * cancelled meanwhile: one statement a share runs a few times a second instead of two. A closed job
 * is left alone: closing recounted it from its items.
 */
export async function addCountsAndCheckCancel (sql: SqlRunner, jobId: string, d: CountDelta) {
  const { rows } = d.done === 0
    ? await sql('sync_job_cancelled', 'SELECT cancelled_at IS NOT NULL AS cancelled FROM sync_jobs WHERE id = $1::uuid', [jobId])
    : await sql('sync_add_counts', `UPDATE sync_jobs SET done = done + $2, success = success + $3, failed = failed + $4, skipped = skipped + $5,
        last_error = COALESCE($6, last_error), updated_at = now() WHERE id = $1::uuid AND finished_at IS NULL RETURNING cancelled_at IS NOT NULL AS cancelled`,
    [jobId, d.done, d.success, d.failed, d.skipped, d.lastError])
  return rows[0]?.cancelled === true
}

export async function upsertPersonDevice (db: DbClient, c: PersonDeviceChange) {
  await db.$executeRawUnsafe(`
    INSERT INTO person_devices (student_id, device_id, employee_no, state, synced_version, face_photo_version, face_on_device, last_error, attempts, synced_at, updated_at)
    VALUES ($1::uuid, $2::uuid, $3, ${stateBehindStudent('$1', '$4', '$5')}, $5, $6, $7, $8, CASE WHEN $4 = 'failed' THEN 1 ELSE 0 END,
      CASE WHEN $4 = 'failed' THEN NULL ELSE now() END, now())
    ${PERSON_DEVICE_UPSERT}`,
  c.studentId, c.deviceId, c.employeeNo, c.state, c.syncedVersion ?? null, c.facePhotoVersion ?? null, c.faceOnDevice ?? false, c.lastError ?? null)
}

/** Every still-pending item of a device share fails with the device's cause (its items are not tried). */
export async function failRemaining (db: DbClient, jobId: string, deviceId: string, code: string, message: string, status: 'failed' | 'cancelled' = 'failed') {
  await db.$executeRawUnsafe(`
    WITH it AS (
      UPDATE sync_job_items SET status = $5::"SyncItemStatus", step = CASE WHEN $5 = 'failed' THEN 'device' ELSE NULL END,
             error_code = $3, error_message = $4, finished_at = now()
      WHERE job_id = $1::uuid AND device_id = $2::uuid AND status = 'pending' RETURNING 1
    )
    UPDATE sync_jobs SET done = done + (SELECT count(*) FROM it),
      failed = failed + CASE WHEN $5 = 'failed' THEN (SELECT count(*) FROM it) ELSE 0 END,
      last_error = CASE WHEN $5 = 'failed' THEN $4 ELSE last_error END, updated_at = now()
    WHERE id = $1::uuid`,
  jobId, deviceId, code, message.slice(0, 1000), status)
}

/** Marks the person-on-device rows of failed items (device-level failures) so drift and retries see them. */
export async function markPersonsFailed (db: DbClient, jobId: string, deviceId: string, message: string) {
  await db.$executeRawUnsafe(`
    INSERT INTO person_devices (student_id, device_id, employee_no, state, last_error, attempts, updated_at)
    SELECT i.student_id, i.device_id, i.employee_no, 'failed', $3, 1, now() FROM sync_job_items i
    WHERE i.job_id = $1::uuid AND i.device_id = $2::uuid AND i.status = 'failed' AND i.step = 'device' AND i.student_id IS NOT NULL
      AND i.action IN ('upsert', 'face')
    ON CONFLICT (student_id, device_id) DO UPDATE SET state = CASE WHEN person_devices.state IN ('synced', 'pending') THEN person_devices.state ELSE 'failed'::"PersonDeviceState" END,
      last_error = EXCLUDED.last_error, attempts = person_devices.attempts + 1, updated_at = now()`,
  jobId, deviceId, message.slice(0, 1000))
}

/** A job's items in order, each with its device (undefined when the device row is gone). */
export async function itemsWithDevices (db: DbClient, jobId: string) {
  const items = await db.syncJobItem.findMany({ where: { jobId }, orderBy: { id: 'asc' } })
  const devices = await db.device.findMany({
    where: { id: { in: items.map((i) => i.deviceId) } },
    select: { id: true, name: true, deviceId: true, location: true, direction: true },
  })
  const byId = new Map(devices.map((d) => [d.id, d]))
  return items.map((item) => ({ item, device: byId.get(item.deviceId) }))
}

/** The next pending items of a share in id order, after `afterId` when given. */
export async function pendingItems (db: PrismaClient, jobId: string, deviceId: string, take: number, afterId?: bigint) {
  return db.syncJobItem.findMany({ where: { jobId, deviceId, status: 'pending', ...(afterId !== undefined && { id: { gt: afterId } }) }, orderBy: { id: 'asc' }, take })
}

/**
 * The status a job closes with, as SQL over a `sync_jobs` row and the given expressions for its
 * success, failed and skipped counts: cancelled if asked, else succeeded / failed / partial.
 */
export const closedJobStatus = (c: { success: string, failed: string, skipped: string }) => `(CASE
  WHEN cancelled_at IS NOT NULL THEN 'cancelled'
  WHEN ${c.failed} = 0 THEN 'succeeded'
  WHEN ${c.success} + ${c.skipped} = 0 THEN 'failed'
  ELSE 'partial' END)::"SyncJobStatus"`

/** Closes the job once no device share is open, with its closedJobStatus. Returns the job when this call closed it. */
export async function finishJobIfDone (db: DbClient, jobId: string) {
  // Counts are taken from the items: the progress counters may lag (they are added up per share) or
  // miss what a crashed share did last.
  const rows = await db.$queryRawUnsafe<Array<{ id: string }>>(`
    WITH c AS (
      SELECT count(*) FILTER (WHERE status <> 'pending') AS done, count(*) FILTER (WHERE status = 'success') AS success,
             count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'skipped') AS skipped, count(*) AS total
      FROM sync_job_items WHERE job_id = $1::uuid
    )
    UPDATE sync_jobs SET done = c.done, success = c.success, failed = c.failed, skipped = c.skipped, total = GREATEST(sync_jobs.total, c.total),
      status = ${closedJobStatus({ success: 'c.success', failed: 'c.failed', skipped: 'c.skipped' })},
      finished_at = now(), updated_at = now()
    FROM c
    WHERE id = $1::uuid AND status IN ('queued', 'running')
      AND NOT EXISTS (SELECT 1 FROM sync_job_devices WHERE job_id = $1::uuid AND status IN ('queued', 'running'))
    RETURNING id`, jobId)
  return rows.length > 0
}

export async function setShareStatus (db: DbClient, jobId: string, deviceId: string, data: Prisma.SyncJobDeviceUpdateInput) {
  await db.syncJobDevice.update({ where: { jobId_deviceId: { jobId, deviceId } }, data })
}
