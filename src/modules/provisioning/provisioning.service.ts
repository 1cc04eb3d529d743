import type { Prisma, PrismaClient, Student, SyncJob } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction, type DbClient } from '../../lib/db.js'
import { AppError, badRequest, forbidden, notFound } from '../../lib/errors.js'
import { decodeBase64Image } from '../../lib/face-photo.js'
import { hasRole } from '../../plugins/auth.js'
import { recordAudit } from '../audit/audit.repository.js'
import { visibleClassIds } from '../classes/classes.service.js'
import type { StudentPhotosService } from '../students/students.photos.js'
import { employeeNo as employeeNoSchema } from '../students/students.schemas.js'
import { toStudentDto, type StudentsService } from '../students/students.service.js'
import type { JobsService } from '../sync/sync.jobs.js'
import { isFinished, itemsWithDevices, upsertPersonDevice } from '../sync/sync.repository.js'
import { recordReportedResult } from './provisioning.repository.js'
import type { DeviceResultBody, LinkStatus, ProvisionBody, ProvisionStudent, ProvisioningRetryBody, ProvisioningStatus } from './provisioning.schemas.js'

const ROLES = ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER'] as const
const LOG_LIMIT = 200

const linkStatusOf = (itemStatus: string): LinkStatus =>
  itemStatus === 'success' || itemStatus === 'skipped' ? 'SUCCESS' : itemStatus === 'pending' ? 'PENDING' : 'FAILED'

/** The upstream's rule: all confirmed, all failed, some failed (even while others run), else still processing. */
function overallStatus (links: LinkStatus[], jobFinished: boolean): ProvisioningStatus {
  if (links.length === 0) return jobFinished ? 'CONFIRMED' : 'PROCESSING'
  if (links.every((s) => s === 'SUCCESS')) return 'CONFIRMED'
  if (links.every((s) => s === 'FAILED')) return 'FAILED'
  if (links.includes('FAILED')) return 'PARTIAL'
  return 'PROCESSING'
}

const definedOnly = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>

const validation = (field: string, message: string) =>
  new AppError(400, 'VALIDATION_FAILED', `Invalid body: ${field}`, { errors: [{ field, message }] })

const paramsOf = (job: SyncJob) => job.params as { studentId?: string, requestId?: string | null }
// A job's idempotency key is unique per school; the prefix keeps requestIds apart from other uses of it.
const requestKey = (requestId: string) => `provision:${requestId}`

/**
 * Upstream-compatible provisioning on top of the jobs: a provisioning is a job of type `provision`
 * for one student, its device links are the job's items, and its logs are the items' results plus
 * the job's audit trail.
 */
export function createProvisioningService ({ db, students, photos, jobs }: { db: PrismaClient, students: StudentsService, photos: StudentPhotosService, jobs: JobsService }) {
  /** A provisioning of the caller's school; a teacher sees only those of its classes' students. Anything else is a 404. */
  async function mustSee (ctx: ActorContext, id: string) {
    const job = await db.syncJob.findFirst({ where: { id, type: 'provision' } })
    const { actor } = ctx
    if (!job || !hasRole(actor, ROLES) || (actor.role !== 'SUPER_ADMIN' && actor.schoolId !== job.schoolId)) throw notFound('Provisioning')
    const studentId = paramsOf(job).studentId
    const student = studentId ? await db.student.findUnique({ where: { id: studentId } }) : null
    const allowed = await visibleClassIds(db, ctx)
    if (allowed && (!student?.classId || !allowed.includes(student.classId))) throw notFound('Provisioning')
    return { job, student }
  }

  async function linksOf (jobId: string) {
    return (await itemsWithDevices(db, jobId)).flatMap(({ item: i, device }) => {
      if (!device) return []
      return [{
        id: String(i.id), provisioningId: jobId, studentId: i.studentId, deviceId: i.deviceId, status: linkStatusOf(i.status),
        employeeNoOnDevice: i.status === 'success' || i.status === 'skipped' ? i.employeeNo : null,
        attemptCount: i.attempts, lastError: i.status === 'skipped' ? null : i.errorMessage, errorCode: i.errorCode, step: i.step,
        lastAttemptAt: i.finishedAt?.toISOString() ?? null,
        device,
      }]
    })
  }

  async function statusOf (job: SyncJob) {
    const links = await linksOf(job.id)
    return { links, status: overallStatus(links.map((l) => l.status), isFinished(job.status)) }
  }

  async function answerOf (job: SyncJob, student: Student) {
    const shares = await db.syncJobDevice.findMany({ where: { jobId: job.id }, include: { device: true }, orderBy: { deviceId: 'asc' } })
    return {
      student: toStudentDto(student),
      studentId: student.id,
      provisioningId: job.id,
      deviceStudentId: student.employeeNo,
      provisioningStatus: (await statusOf(job)).status,
      targetDevices: shares.map((s) => ({ id: s.device.id, deviceId: s.device.deviceId, name: s.device.name })),
    }
  }

  async function earlier (schoolId: string, requestId: string) {
    const job = await db.syncJob.findFirst({ where: { schoolId, idempotencyKey: requestKey(requestId), type: 'provision' } })
    const studentId = job && paramsOf(job).studentId
    const student = studentId ? await db.student.findUnique({ where: { id: studentId } }) : null
    return job && student ? { statusCode: 200, body: await answerOf(job, student) } : null
  }

  /**
   * Updates the student named by studentId, or the one holding deviceStudentId (the upstream
   * upserts on it), or creates one. A teacher works only within its classes.
   */
  async function saveStudent (tx: DbClient, ctx: ActorContext, schoolId: string, o: { studentId?: string, input: Partial<ProvisionStudent>, allowDuplicateName: boolean, allowed?: string[] }) {
    const { deviceStudentId, name, faceImageBase64: _face, ...rest } = o.input
    const [lastFromName, ...firstFromName] = name?.split(/\s+/) ?? []
    const fields = definedOnly({ ...rest, lastName: rest.lastName ?? lastFromName, firstName: rest.firstName ?? (firstFromName.join(' ') || undefined) })
    if (o.allowed && 'classId' in fields && (!fields.classId || !o.allowed.includes(fields.classId))) throw forbidden('Teachers provision students of their own classes only')

    let existing: Student | null = null
    if (o.studentId) {
      existing = await tx.student.findFirst({ where: { id: o.studentId, schoolId, deletedAt: null } })
      if (!existing) throw notFound('Student')
      if (deviceStudentId && deviceStudentId !== existing.employeeNo) {
        throw badRequest('DEVICE_STUDENT_ID_MISMATCH', `The student's deviceStudentId is ${existing.employeeNo}, not ${deviceStudentId}`)
      }
    } else if (deviceStudentId) {
      existing = await tx.student.findFirst({ where: { schoolId, employeeNo: deviceStudentId, deletedAt: null } })
    }
    if (existing) {
      if (o.allowed && (!existing.classId || !o.allowed.includes(existing.classId))) throw notFound('Student')
      return (await students.update(ctx, schoolId, existing.id, { ...fields, allowDuplicateName: o.allowDuplicateName }, tx)).after
    }

    if (!fields.firstName) throw validation('student.firstName', 'is required for a new student (or give name)')
    if (!fields.lastName) throw validation('student.lastName', 'is required for a new student (or give name)')
    if (!fields.gender) throw validation('student.gender', 'is required for a new student')
    if (o.allowed && !fields.classId) throw forbidden('Teachers provision students of their own classes only')
    const usable = deviceStudentId && employeeNoSchema.safeParse(deviceStudentId).success ? deviceStudentId : undefined
    return students.create(ctx, schoolId, {
      ...fields, firstName: fields.firstName, lastName: fields.lastName, fatherName: fields.fatherName, gender: fields.gender, status: 'active', allowDuplicateName: o.allowDuplicateName, employeeNo: usable,
    }, tx)
  }

  async function findDevice (schoolId: string, b: DeviceResultBody) {
    const live = { schoolId, deletedAt: null }
    const byId = b.deviceId && await db.device.findFirst({ where: { ...live, id: b.deviceId } })
    if (byId) return byId
    const byExternal = b.deviceExternalId && await db.device.findFirst({ where: { ...live, deviceId: b.deviceExternalId } })
    if (byExternal) return byExternal
    const byName = b.deviceName ? await db.device.findMany({ where: { ...live, name: b.deviceName }, take: 2 }) : []
    if (byName.length > 1) throw badRequest('DEVICE_AMBIGUOUS', `Several devices of this school are named "${b.deviceName}"; send deviceId`)
    if (byName.length === 1) return byName[0]
    throw notFound('Device')
  }

  return {
    /** Creates or updates the student, stores its face and starts the job writing it to the target devices. */
    async start (ctx: ActorContext, schoolId: string, body: ProvisionBody) {
      const { student: nested, studentId, requestId, targetDeviceIds, targetAllActive, allowDuplicateName, ...top } = body
      const input: Partial<ProvisionStudent> = { ...definedOnly(top), ...definedOnly(nested ?? {}) }
      if (requestId) {
        const repeat = await earlier(schoolId, requestId)
        if (repeat) return repeat
      }
      const allowed = await visibleClassIds(db, ctx)
      const deviceIds = targetDeviceIds || targetAllActive ? await jobs.resolveDevices(db, schoolId, targetDeviceIds) : []
      const jpeg = input.faceImageBase64 ? await photos.normalise(decodeBase64Image(input.faceImageBase64)) : undefined
      let saved: { student: Student, job: SyncJob }
      try {
        saved = await photos.transaction(async (tx, put) => {
          let student = await saveStudent(tx, ctx, schoolId, { studentId, input, allowDuplicateName, allowed })
          if (jpeg) student = await put(ctx, schoolId, student.id, jpeg)
          const job = await jobs.create(ctx, {
            type: 'provision', schoolId, deviceIds, studentIds: [student.id],
            params: { studentId: student.id, requestId: requestId ?? null, targetDeviceIds: deviceIds, targetAllActive },
          }, tx, requestId ? { idempotencyKey: requestKey(requestId) } : {})
          return { student, job }
        })
      } catch (err) {
        // The same requestId started concurrently: the other one won and everything here was rolled back.
        const repeat = requestId && isUniqueConstraintError(err, ['idempotency_key', 'idempotencyKey']) ? await earlier(schoolId, requestId) : null
        if (repeat) return repeat
        throw err
      }
      await jobs.dispatch(saved.job)
      return { statusCode: 201, body: await answerOf(saved.job, saved.student) }
    },

    async get (ctx: ActorContext, id: string) {
      const { job, student } = await mustSee(ctx, id)
      const { links, status } = await statusOf(job)
      return {
        id: job.id, schoolId: job.schoolId, studentId: student?.id ?? null, requestId: paramsOf(job).requestId ?? null,
        status, jobStatus: job.status, lastError: job.lastError, retryCount: job.retryCount,
        createdAt: job.createdAt.toISOString(), updatedAt: job.updatedAt.toISOString(),
        student: student ? toStudentDto(student) : null, devices: links,
      }
    },

    /** The newest 200 events: start, retries and reported results (from the audit trail), and each device's outcome. */
    async logs (ctx: ActorContext, id: string) {
      const { job, student } = await mustSee(ctx, id)
      const [audits, items] = await Promise.all([
        db.auditLog.findMany({ where: { entity: 'job', entityId: job.id }, orderBy: { createdAt: 'desc' }, take: LOG_LIMIT }),
        db.syncJobItem.findMany({ where: { jobId: job.id, status: { not: 'pending' }, OR: [{ step: null }, { step: { not: 'reported' } }] }, orderBy: { finishedAt: 'desc' }, take: LOG_LIMIT }),
      ])
      const base = { provisioningId: job.id, studentId: student?.id ?? null }
      const fromAudit = audits.map((a) => {
        const after = Object.fromEntries(Object.entries((a.changes ?? {}) as Record<string, { after: unknown }>).map(([k, v]) => [k, v.after]))
        const reported = a.action === 'provisioning_device_result'
        const failed = reported && after.status === 'FAILED'
        return {
          ...base, id: a.id, deviceId: reported ? after.deviceId as string : null,
          level: failed ? 'ERROR' as const : a.action === 'cancel_job' ? 'WARN' as const : 'INFO' as const,
          stage: reported ? 'DEVICE_RESULT' : a.action === 'start_job' ? 'PROVISIONING_START' : a.action === 'retry_job' ? 'PROVISIONING_RETRY' : a.action === 'cancel_job' ? 'PROVISIONING_CANCEL' : a.action.toUpperCase(),
          status: reported ? after.status as string : null,
          message: reported
            ? (failed ? (after.error as string | null) ?? 'Reported as failed' : 'Reported as written by the client')
            : a.action === 'retry_job' ? `Retrying ${String(after.items)} failed device(s)` : a.action === 'start_job' ? `Started for ${(after.targetDeviceIds as unknown[] | undefined)?.length ?? 0} device(s)` : null,
          actorId: a.actorId, createdAt: a.createdAt,
        }
      })
      const fromItems = items.map((i) => ({
        ...base, id: `item-${String(i.id)}-${i.attempts}`, deviceId: i.deviceId,
        level: i.status === 'failed' ? 'ERROR' as const : i.status === 'cancelled' ? 'WARN' as const : 'INFO' as const,
        stage: i.step === 'device' ? 'DEVICE_CONNECTION' : `DEVICE_${(i.step ?? 'sync').toUpperCase()}`,
        status: i.status.toUpperCase(),
        message: i.status === 'success' ? 'Written to the device' : i.errorCode ? `${i.errorCode}: ${i.errorMessage ?? ''}` : i.errorMessage,
        actorId: null, createdAt: i.finishedAt ?? job.updatedAt,
      }))
      return [...fromAudit, ...fromItems]
        .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime())
        .slice(0, LOG_LIMIT)
        .map((e) => ({ ...e, createdAt: e.createdAt.toISOString() }))
    },

    /** A client wrote to a terminal itself: its result becomes that device's item and the person-on-device state. */
    async deviceResult (ctx: ActorContext, id: string, body: DeviceResultBody) {
      const { job, student } = await mustSee(ctx, id)
      if (!student) throw notFound('Student')
      const device = await findDevice(job.schoolId, body)
      if (body.employeeNoOnDevice && body.employeeNoOnDevice !== student.employeeNo) {
        throw badRequest('EMPLOYEE_NO_MISMATCH', `The student's employeeNo is ${student.employeeNo}; the terminal must use it, not ${body.employeeNoOnDevice}`)
      }
      const ok = body.status === 'SUCCESS'
      await withTransaction(db, async (tx) => {
        await recordReportedResult(tx, { jobId: job.id, deviceId: device.id, studentId: student.id, employeeNo: student.employeeNo, ok, errorMessage: body.error ?? null })
        await upsertPersonDevice(tx, {
          studentId: student.id, deviceId: device.id, employeeNo: student.employeeNo, state: ok ? 'synced' : 'failed',
          syncedVersion: student.version, facePhotoVersion: student.photoUrl ? student.photoVersion : null, faceOnDevice: ok && student.photoUrl !== null,
          lastError: ok ? null : body.error ?? 'Reported as failed by the client',
        })
        await recordAudit(tx, ctx, {
          action: 'provisioning_device_result', entity: 'job', entityId: job.id, schoolId: job.schoolId,
          after: { deviceId: device.id, status: body.status, error: body.error ?? null, employeeNoOnDevice: body.employeeNoOnDevice ?? null },
        })
      })
      const current = await db.syncJob.findUniqueOrThrow({ where: { id: job.id } })
      return { ok: true as const, provisioningStatus: (await statusOf(current)).status, deviceStatus: ok ? 'SUCCESS' as const : 'FAILED' as const }
    },

    /** Puts the failed devices (or the named ones' failures) back in the queue: the workers really write them again. */
    async retry (ctx: ActorContext, id: string, body: ProvisioningRetryBody) {
      const { job } = await mustSee(ctx, id)
      let deviceIds = body.deviceIds
      if (body.deviceExternalIds) {
        const found = await db.device.findMany({ where: { schoolId: job.schoolId, deletedAt: null, deviceId: { in: body.deviceExternalIds } }, select: { id: true } })
        deviceIds = [...(deviceIds ?? []), ...found.map((d) => d.id)]
      }
      const where: Prisma.SyncJobItemWhereInput = { jobId: job.id, status: 'failed', ...(deviceIds && { deviceId: { in: deviceIds } }) }
      const failed = await db.syncJobItem.findMany({ where, select: { deviceId: true } })
      const retried = await jobs.retry(ctx, job, deviceIds)
      return {
        ok: true as const,
        updated: failed.length,
        targetDeviceIds: [...new Set(failed.map((f) => f.deviceId))],
        provisioningStatus: (await statusOf(retried)).status,
      }
    },
  }
}

export type ProvisioningService = ReturnType<typeof createProvisioningService>
