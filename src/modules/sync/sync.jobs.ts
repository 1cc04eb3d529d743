import type { Prisma, PrismaClient, SyncJob } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction, type DbClient } from '../../lib/db.js'
import { badRequest, conflict, notFound } from '../../lib/errors.js'
import { skip } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import { insertStudentItems, isFinished, type ItemAction } from './sync.repository.js'
import type { SyncQueue } from './sync.queue.js'
import type { JobItemsQuery, JobListQuery } from './sync.schemas.js'

export type JobType = 'sync' | 'clone_database' | 'clone_device' | 'remove' | 'provision' | 'drift_repair'

export interface JobSpec {
  type: JobType
  schoolId: string
  deviceIds: string[]
  /** What the job was asked (stored with it; `full` and `fromDeviceId` steer the runner). */
  params: Record<string, unknown> & { full?: boolean, fromDeviceId?: string }
  /** Students to push (null = every active one) — not used by device clones. */
  studentIds?: string[] | null
  action?: ItemAction
  /** employeeNos to delete from the devices that are not students (drift repair of extras). */
  extraEmployeeNos?: string[]
}

export const toJobDto = (j: SyncJob) => ({
  id: j.id,
  schoolId: j.schoolId,
  type: j.type,
  status: j.status,
  params: j.params as Record<string, unknown>,
  progress: { done: j.done, total: j.total },
  counts: { success: j.success, failed: j.failed, skipped: j.skipped },
  retryCount: j.retryCount,
  lastError: j.lastError,
  createdBy: j.createdById ? { id: j.createdById, email: j.createdByEmail } : null,
  cancelledAt: j.cancelledAt?.toISOString() ?? null,
  startedAt: j.startedAt?.toISOString() ?? null,
  finishedAt: j.finishedAt?.toISOString() ?? null,
  createdAt: j.createdAt.toISOString(),
  updatedAt: j.updatedAt.toISOString(),
})
export type JobDto = ReturnType<typeof toJobDto>

export function createJobsService ({ db, queue }: { db: PrismaClient, queue: SyncQueue }) {
  async function mustFind (jobId: string, schoolId?: string) {
    const job = await db.syncJob.findFirst({ where: { id: jobId, ...(schoolId && { schoolId }) } })
    if (!job) throw notFound('Job')
    return job
  }

  /** Devices of the school, all of them when none are named; a foreign or deleted id is a 400. */
  async function resolveDevices (tx: DbClient, schoolId: string, deviceIds?: string[]) {
    const devices = await tx.device.findMany({ where: { schoolId, deletedAt: null, ...(deviceIds && { id: { in: deviceIds } }) }, select: { id: true } })
    if (deviceIds) {
      const found = new Set(devices.map((d) => d.id))
      const missing = deviceIds.filter((id) => !found.has(id))
      if (missing.length > 0) throw badRequest('DEVICE_NOT_IN_SCHOOL', `Not devices of this school: ${missing.join(', ')}`, { deviceIds: missing })
    }
    return devices.map((d) => d.id)
  }

  /** Writes the job, its device shares and its items in one transaction; queues the shares after commit. */
  async function create (ctx: ActorContext | null, spec: JobSpec, tx?: DbClient, extra: Partial<Prisma.SyncJobUncheckedCreateInput> = {}) {
    const write = async (t: DbClient) => {
      const school = await t.school.findFirst({ where: { id: spec.schoolId, deletedAt: null }, select: { inactiveOnDevice: true } })
      if (!school) throw notFound('School')
      const job = await t.syncJob.create({
        data: {
          schoolId: spec.schoolId, type: spec.type, params: spec.params as Prisma.InputJsonValue,
          createdById: ctx?.actor.id ?? null, createdByEmail: ctx?.actor.email ?? null, ...extra,
        },
      })
      if (spec.deviceIds.length > 0) {
        await t.syncJobDevice.createMany({ data: spec.deviceIds.map((deviceId) => ({ jobId: job.id, deviceId })) })
      }
      let total = 0
      if (spec.type !== 'clone_device' && spec.deviceIds.length > 0) {
        const action = spec.action ?? 'upsert'
        total += await insertStudentItems(t, {
          jobId: job.id, schoolId: spec.schoolId, deviceIds: spec.deviceIds, studentIds: spec.studentIds ?? undefined,
          action, inactiveAction: action === 'remove' ? 'remove' : school.inactiveOnDevice, photosOnly: action === 'face',
        })
        if (spec.extraEmployeeNos?.length) {
          total += await t.$executeRawUnsafe(`
            INSERT INTO sync_job_items (job_id, device_id, employee_no, action)
            SELECT $1::uuid, d, no, 'remove' FROM unnest($2::uuid[]) AS d, unnest($3::text[]) AS no
            ON CONFLICT (job_id, device_id, employee_no) DO NOTHING`, job.id, spec.deviceIds, spec.extraEmployeeNos)
        }
      }
      const noWork = spec.deviceIds.length === 0 || (total === 0 && spec.type !== 'clone_device')
      const saved = await t.syncJob.update({
        where: { id: job.id },
        data: { total, ...(noWork && { status: 'succeeded', startedAt: new Date(), finishedAt: new Date() }) },
      })
      if (noWork) await t.syncJobDevice.updateMany({ where: { jobId: job.id }, data: { status: 'succeeded', finishedAt: new Date() } })
      if (ctx) await recordAudit(t, ctx, { action: 'start_job', entity: 'job', entityId: job.id, schoolId: spec.schoolId, after: { type: spec.type, ...spec.params } })
      return saved
    }
    const job = tx ? await write(tx) : await withTransaction(db, write)
    return job
  }

  /** Queues the open device shares of a job (after its transaction committed). */
  async function dispatch (job: SyncJob) {
    if (isFinished(job.status)) return
    const shares = await db.syncJobDevice.findMany({ where: { jobId: job.id, status: { in: ['queued', 'running'] } }, select: { deviceId: true } })
    await queue.enqueue(job.id, shares.map((s) => s.deviceId))
  }

  return {
    mustFind,
    resolveDevices,
    create,
    dispatch,
    async start (ctx: ActorContext | null, spec: JobSpec) {
      const job = await create(ctx, spec)
      await dispatch(job)
      return job
    },

    async list (schoolIds: string[] | null, q: JobListQuery) {
      const where: Prisma.SyncJobWhereInput = {
        ...(q.schoolId && { schoolId: q.schoolId }),
        ...(schoolIds && { schoolId: { in: q.schoolId ? schoolIds.filter((s) => s === q.schoolId) : schoolIds } }),
        ...(q.status && { status: q.status }),
        ...(q.type && { type: q.type }),
      }
      const [rows, total] = await Promise.all([
        db.syncJob.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], skip: skip(q), take: q.pageSize }),
        db.syncJob.count({ where }),
      ])
      return { items: rows.map(toJobDto), total }
    },

    async devices (jobId: string) {
      const shares = await db.syncJobDevice.findMany({ where: { jobId }, include: { device: { select: { name: true } } }, orderBy: { deviceId: 'asc' } })
      const counts = await db.syncJobItem.groupBy({ by: ['deviceId', 'status'], where: { jobId }, _count: { _all: true } })
      return shares.map((s) => {
        const of = (status: string) => counts.find((c) => c.deviceId === s.deviceId && c.status === status)?._count._all ?? 0
        const itemCounts = { pending: of('pending'), success: of('success'), failed: of('failed'), skipped: of('skipped'), cancelled: of('cancelled') }
        // A share that ran to its end says how its items went, as the job does.
        const outcome = s.status === 'succeeded' && itemCounts.failed > 0 ? (itemCounts.success + itemCounts.skipped > 0 ? 'partial' : 'failed') : s.status
        return {
          deviceId: s.deviceId, deviceName: s.device.name, status: outcome,
          error: s.errorCode ? { code: s.errorCode, message: s.errorMessage } : null,
          counts: itemCounts,
        }
      })
    },

    /** A student's state on each device it was ever sent to (404 for a student of another school). */
    async personOnDevices (schoolId: string, studentId: string) {
      const student = await db.student.findFirst({ where: { id: studentId, schoolId }, select: { version: true } })
      if (!student) throw notFound('Student')
      const rows = await db.personDevice.findMany({ where: { studentId, device: { deletedAt: null } }, include: { device: { select: { name: true } } }, orderBy: { device: { name: 'asc' } } })
      return rows.map((pd) => ({
        deviceId: pd.deviceId,
        deviceName: pd.device.name,
        // Also `pending` when an edit committed while this version was being recorded (the row could not see it).
        state: pd.state === 'synced' && pd.syncedVersion !== null && pd.syncedVersion < student.version ? 'pending' as const : pd.state,
        syncedVersion: pd.syncedVersion,
        currentVersion: student.version,
        faceOnDevice: pd.faceOnDevice, lastError: pd.lastError, attempts: pd.attempts, syncedAt: pd.syncedAt?.toISOString() ?? null,
      }))
    },

    async items (jobId: string, q: JobItemsQuery) {
      const where: Prisma.SyncJobItemWhereInput = { jobId, ...(q.status && { status: q.status }), ...(q.deviceId && { deviceId: q.deviceId }) }
      const [rows, total] = await Promise.all([
        db.syncJobItem.findMany({ where, orderBy: { id: 'asc' }, skip: skip(q), take: q.pageSize }),
        db.syncJobItem.count({ where }),
      ])
      return {
        items: rows.map((i) => ({
          id: String(i.id), deviceId: i.deviceId, studentId: i.studentId, employeeNo: i.employeeNo, action: i.action, status: i.status,
          step: i.step, error: i.errorCode || i.status === 'failed' ? { code: i.errorCode, message: i.errorMessage } : null,
          note: i.status === 'skipped' ? i.errorMessage : null, attempts: i.attempts, finishedAt: i.finishedAt?.toISOString() ?? null,
        })),
        total,
      }
    },

    /** Stops a job: pending items are not started (the item in flight on each device finishes). */
    async cancel (ctx: ActorContext, job: SyncJob) {
      if (isFinished(job.status)) throw conflict('JOB_FINISHED', `The job already ended as ${job.status}`)
      const updated = await withTransaction(db, async (tx) => {
        await tx.syncJob.update({ where: { id: job.id }, data: { cancelledAt: new Date() } })
        // Shares not yet running are closed here; running ones close themselves after their current item.
        await tx.$executeRawUnsafe(`
          WITH it AS (
            UPDATE sync_job_items SET status = 'cancelled', error_code = 'CANCELLED', error_message = 'Cancelled before this person was reached', finished_at = now()
            WHERE job_id = $1::uuid AND status = 'pending' AND device_id IN (SELECT device_id FROM sync_job_devices WHERE job_id = $1::uuid AND status = 'queued')
            RETURNING 1)
          UPDATE sync_jobs SET done = done + (SELECT count(*) FROM it) WHERE id = $1::uuid`, job.id)
        await tx.syncJobDevice.updateMany({ where: { jobId: job.id, status: 'queued' }, data: { status: 'cancelled', finishedAt: new Date() } })
        await recordAudit(tx, ctx, { action: 'cancel_job', entity: 'job', entityId: job.id, schoolId: job.schoolId, before: { status: job.status }, after: { status: 'cancelled' } })
        await tx.$executeRawUnsafe(`
          UPDATE sync_jobs SET status = 'cancelled', finished_at = now() WHERE id = $1::uuid
            AND NOT EXISTS (SELECT 1 FROM sync_job_devices WHERE job_id = $1::uuid AND status IN ('queued', 'running'))`, job.id)
        return tx.syncJob.findUniqueOrThrow({ where: { id: job.id } })
      })
      return updated
    },

    /** Puts failed items back to pending and runs their devices again: all, those of some devices, or (the automatic retry) some items. */
    async retry (ctx: ActorContext | null, job: SyncJob, deviceIds?: string[], itemIds?: string[]) {
      if (!isFinished(job.status)) throw conflict('JOB_RUNNING', 'The job is still running; retry it once it has ended')
      const updated = await withTransaction(db, async (tx) => {
        const reset = await tx.$executeRawUnsafe(`
          UPDATE sync_job_items SET status = 'pending', error_code = NULL, error_message = NULL, step = NULL, finished_at = NULL
          WHERE job_id = $1::uuid AND status = 'failed' AND ($2::uuid[] IS NULL OR device_id = ANY($2::uuid[]))
            AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))`, job.id, deviceIds ?? null, itemIds ?? null)
        if (reset === 0) throw conflict('NOTHING_TO_RETRY', 'The job has no failed items')
        await tx.$executeRawUnsafe(`
          UPDATE sync_job_devices SET status = 'queued', error_code = NULL, error_message = NULL, finished_at = NULL
          WHERE job_id = $1::uuid AND device_id IN (SELECT DISTINCT device_id FROM sync_job_items WHERE job_id = $1::uuid AND status = 'pending')`, job.id)
        // Claims the job as it was read: a retry that another process or person started meanwhile wins.
        const claimed = await tx.syncJob.updateMany({
          where: { id: job.id, status: job.status, retryCount: job.retryCount },
          data: { status: 'queued', done: { decrement: reset }, failed: { decrement: reset }, retryCount: { increment: 1 }, cancelledAt: null, finishedAt: null, lastError: null },
        })
        if (claimed.count === 0) throw conflict('JOB_RUNNING', 'The job was retried meanwhile')
        const retried = await tx.syncJob.findUniqueOrThrow({ where: { id: job.id } })
        if (ctx) await recordAudit(tx, ctx, { action: 'retry_job', entity: 'job', entityId: job.id, schoolId: job.schoolId, after: { items: reset } })
        return retried
      })
      await dispatch(updated)
      return updated
    },
  }
}

export type JobsService = ReturnType<typeof createJobsService>
