import { setTimeout as sleep } from 'node:timers/promises'
import type { PrismaClient, Student, SyncJob, SyncJobItem } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction, type DbClient } from '../../lib/db.js'
import { AppError } from '../../lib/errors.js'
import type { JobSpec, JobsService } from '../sync/sync.jobs.js'
import { isFinished, itemsWithDevices } from '../sync/sync.repository.js'
import type { StudentPhotosService } from './students.photos.js'
import type { CreateStudentInput, DeviceResult, StudentSync, SyncMode, SyncOptions, UpdateStudentInput } from './students.schemas.js'
import { toStudentDto, type StudentsService } from './students.service.js'

const POLL_MS = 100
// After an atomic wait runs out the job is cancelled; the item in flight on each device gets this long to end.
const CANCEL_GRACE_MS = 5_000

interface Saved { before: Student | null, after: Student }

/** One student's current row onto `deviceIds`: pushed when active, taken off (or disabled) when inactive or deleted. */
function studentJobSpec (s: Student, deviceIds: string[], params: Record<string, unknown>, action?: 'face'): JobSpec {
  const active = s.status === 'active' && !s.deletedAt
  return {
    type: active ? 'sync' : 'remove',
    schoolId: s.schoolId,
    deviceIds,
    studentIds: [s.id],
    // An inactive student follows the school's inactiveOnDevice (remove or disable); a deleted one always goes.
    action: s.deletedAt ? 'remove' : active ? action : undefined,
    params: { studentId: s.id, ...params },
  }
}

function resultOf (item: SyncJobItem, deviceName: string): DeviceResult {
  const base = { deviceId: item.deviceId, deviceName }
  if (item.status === 'success') return { ...base, result: 'SUCCESS', code: null, reason: null }
  if (item.status === 'skipped') return { ...base, result: 'SKIPPED', code: null, reason: item.errorMessage }
  if (item.status === 'pending') return { ...base, result: 'FAILED', code: 'SYNC_WAIT_TIMEOUT', reason: 'The device had not answered when the wait ended' }
  return { ...base, result: 'FAILED', code: item.errorCode, reason: item.errorMessage }
}

/**
 * Saving a student and sending the change to its devices, as one job per save. The database save
 * commits together with the job, so a saved change is never left without its sync; the job then runs
 * on the workers, and `wait` polls its row. `atomic` undoes everything when a device fails.
 */
export function createStudentSyncService (deps: { db: PrismaClient, students: StudentsService, photos: StudentPhotosService, jobs: JobsService, waitMs: number }) {
  const { db, students, photos, jobs, waitMs } = deps

  /**
   * What a save without syncMode does: the named devices when targetDeviceIds is given, else every
   * device when the save changed something a terminal stores (a new active student, a name, gender
   * or status change, deactivation included), else nothing — an edit of the phone number alone
   * should not start device work.
   */
  function modeOf (o: SyncOptions, { before, after }: Saved): SyncMode {
    if (o.syncMode) return o.syncMode
    if (o.targetDeviceIds) return 'selected'
    const concernsDevices = after.status === 'active' || before?.status === 'active'
    return concernsDevices && (!before || before.version !== after.version) ? 'all' : 'none'
  }

  async function targetsOf (tx: DbClient, schoolId: string, mode: SyncMode, targetDeviceIds?: string[]) {
    if (mode === 'none') return []
    return jobs.resolveDevices(tx, schoolId, mode === 'all' ? undefined : targetDeviceIds)
  }

  /** Polls the job row until it has ended or `ms` have passed; returns the row as last seen. */
  async function waitFor (jobId: string, ms: number) {
    const deadline = Date.now() + ms
    for (;;) {
      const job = await db.syncJob.findUniqueOrThrow({ where: { id: jobId } })
      if (isFinished(job.status) || Date.now() >= deadline) return job
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())))
    }
  }

  async function itemsOf (jobId: string) {
    return (await itemsWithDevices(db, jobId)).map(({ item, device }) => ({ item, result: resultOf(item, device?.name ?? '') }))
  }

  /** Cancels a job that outlived the wait and gives the items in flight a moment to end. */
  async function cancelLate (ctx: ActorContext, job: SyncJob) {
    try {
      await jobs.cancel(ctx, job)
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'JOB_FINISHED')) throw err
    }
    return waitFor(job.id, CANCEL_GRACE_MS)
  }

  /**
   * Undoes an atomic save that a device refused: the database goes back (a new student is
   * soft-deleted, keeping its employeeNo used), then the devices the job may have written to get
   * the restored row — a removal for a new student, the previous version for an edit.
   */
  async function rollback (ctx: ActorContext, saved: Saved, job: SyncJob, done: Awaited<ReturnType<typeof itemsOf>>): Promise<never> {
    // A device the job never reached (device-level failure, cancelled before its turn) holds nothing to undo.
    const touched = done.filter(({ item }) => item.status !== 'cancelled' && !(item.status === 'failed' && item.step === 'device')).map(({ item }) => item.deviceId)
    const { restored, undo } = await withTransaction(db, async (tx) => {
      const restored = await students.restore(ctx, saved.after.id, saved.after.version, saved.before, tx)
      const undo = restored && touched.length > 0 ? await jobs.create(ctx, studentJobSpec(restored, touched, { rollbackOf: job.id }), tx) : null
      return { restored, undo }
    })
    let undone: Awaited<ReturnType<typeof itemsOf>> = []
    if (undo) {
      await jobs.dispatch(undo)
      await waitFor(undo.id, waitMs)
      undone = await itemsOf(undo.id)
    }
    const rollbackOf = (deviceId: string) => {
      if (!touched.includes(deviceId)) return 'NOT_NEEDED'
      if (!restored) return 'SKIPPED'
      const u = undone.find(({ item }) => item.deviceId === deviceId)?.item
      return !u || u.status === 'pending' ? 'PENDING' : u.status === 'failed' || u.status === 'cancelled' ? 'FAILED' : 'DONE'
    }
    const failed = done.filter(({ result }) => result.result === 'FAILED').map(({ result }) => `"${result.deviceName}" (${result.code})`)
    throw new AppError(502, 'SYNC_ATOMIC_FAILED',
      `Not every device took the change: ${failed.join(', ')} failed. ` + (restored
        ? `The database change and the ${touched.length} device(s) that may have taken it were undone.`
        : 'The student was changed again meanwhile, so the newer version was kept.'),
      {
        studentId: saved.after.id,
        jobId: job.id,
        rollbackJobId: undo?.id ?? null,
        databaseRestored: restored !== null,
        results: done.map(({ result }) => ({ ...result, rollback: rollbackOf(result.deviceId) })),
      })
  }

  /** Starts nothing, or answers at once, or waits for the job (and with `atomic` undoes a failure). */
  async function follow (ctx: ActorContext, saved: Saved, job: SyncJob | null, mode: SyncMode, deviceIds: string[], o: SyncOptions): Promise<StudentSync | null> {
    if (!job) return null
    await jobs.dispatch(job)
    const sync: StudentSync = { jobId: job.id, status: job.status, syncMode: mode, deviceIds }
    if (!o.wait && !o.atomic) return sync
    let last = await waitFor(job.id, waitMs)
    if (o.atomic && !isFinished(last.status)) last = await cancelLate(ctx, last)
    const done = await itemsOf(job.id)
    if (o.atomic && (!isFinished(last.status) || done.some(({ result }) => result.result === 'FAILED'))) return rollback(ctx, saved, last, done)
    return { ...sync, status: last.status, results: done.filter(({ item }) => item.status !== 'pending').map(({ result }) => result) }
  }

  /** Writes the student and, in the same transaction, the job sending it to its devices. */
  async function save (ctx: ActorContext, o: SyncOptions, write: (tx: DbClient) => Promise<Saved>) {
    const { saved, mode, deviceIds, job } = await withTransaction(db, async (tx) => {
      const saved = await write(tx)
      const mode = modeOf(o, saved)
      const deviceIds = await targetsOf(tx, saved.after.schoolId, mode, o.targetDeviceIds)
      const job = deviceIds.length > 0 ? await jobs.create(ctx, studentJobSpec(saved.after, deviceIds, { syncMode: mode, atomic: o.atomic === true }), tx) : null
      return { saved, mode, deviceIds, job }
    })
    const sync = await follow(ctx, saved, job, mode, deviceIds, o)
    return { ...toStudentDto(saved.after), sync }
  }

  return {
    create: (ctx: ActorContext, schoolId: string, input: CreateStudentInput, o: SyncOptions) =>
      save(ctx, o, async (tx) => ({ before: null, after: await students.create(ctx, schoolId, input, tx) })),

    update: (ctx: ActorContext, schoolId: string, studentId: string, input: UpdateStudentInput, o: SyncOptions) =>
      save(ctx, o, (tx) => students.update(ctx, schoolId, studentId, input, tx)),

    /** Soft-deletes the student and removes it from every device of the school; returns that job, if any. */
    async remove (ctx: ActorContext, schoolId: string, studentId: string) {
      const job = await withTransaction(db, async (tx) => {
        const after = await students.remove(ctx, schoolId, studentId, tx)
        const deviceIds = await jobs.resolveDevices(tx, schoolId)
        return deviceIds.length > 0 ? jobs.create(ctx, studentJobSpec(after, deviceIds, { reason: 'deleted' }), tx) : null
      })
      if (job) await jobs.dispatch(job)
      return job
    },

    /** Stores a new face and sends it to the devices the student is on (not to others: that is a sync's job). */
    async putPhoto (ctx: ActorContext, schoolId: string, studentId: string, upload: Buffer, o: { syncMode: 'none' | 'all', wait?: boolean }) {
      await students.mustFind(schoolId, studentId)
      const jpeg = await photos.normalise(upload)
      const { saved, deviceIds, job } = await photos.transaction(async (tx, put) => {
        const after = await put(ctx, schoolId, studentId, jpeg)
        const holding = o.syncMode === 'none' || after.status !== 'active'
          ? []
          : await tx.personDevice.findMany({ where: { studentId, state: { not: 'removed' }, device: { deletedAt: null } }, select: { deviceId: true }, orderBy: { deviceId: 'asc' } })
        const deviceIds = holding.map((p) => p.deviceId)
        const job = deviceIds.length > 0 ? await jobs.create(ctx, studentJobSpec(after, deviceIds, { photosOnly: true }, 'face'), tx) : null
        return { saved: { before: null, after }, deviceIds, job }
      })
      const sync = await follow(ctx, saved, job, o.syncMode, deviceIds, { wait: o.wait })
      return { ...toStudentDto(saved.after), sync }
    },
  }
}

export type StudentSyncService = ReturnType<typeof createStudentSyncService>
