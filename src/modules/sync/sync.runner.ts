import path from 'node:path'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Device, PrismaClient, School, Student, SyncJob, SyncJobItem } from '../../generated/prisma/client.js'
import { isIsapiError, type FaceSource, type IsapiCapabilities, type IsapiClient } from '../../integrations/isapi/index.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import type { MediaSigner } from '../media/media.signing.js'
import { cloneDeviceItem, planDeviceClone } from './sync.clone.js'
import type { DeviceLocks } from '../../lib/device-locks.js'
import { createShareProgress } from './sync.progress.js'
import { StepError, disablePerson, removePerson, syncPerson, type PersonOutcome } from './sync.person.js'
import {
  failRemaining, finishJobIfDone, markPersonsFailed, pendingItems, recordItem, setShareStatus,
  type ItemResult, type PersonDeviceChange, type SqlRunner,
} from './sync.repository.js'

export interface SyncSettings {
  /** Pause between two persons on one device (ms); 0 = none. */
  pacingMs: number
  /** A share yields its worker after this long and is re-queued, so long jobs checkpoint and interleave. */
  sliceMs: number
  busyRetries: number
  busyBackoffMs: number
  transientRetries: number
  transientBackoffMs: number
  faceMode: 'bytes' | 'url'
  faceUrlTtlSeconds: number
}

export const DEFAULT_SYNC_SETTINGS: SyncSettings = {
  pacingMs: 0, sliceMs: 60_000, busyRetries: 6, busyBackoffMs: 250, transientRetries: 2, transientBackoffMs: 1000, faceMode: 'bytes', faceUrlTtlSeconds: 900,
}

// A device that cannot be talked to: its remaining items fail with this cause and are not tried.
const DEVICE_LEVEL = ['DEVICE_AUTH_FAILED', 'DEVICE_LOCKED', 'DEVICE_UNREACHABLE', 'DEVICE_TIMEOUT'] as const
const PAGE = 50
const CALLS_PER_PERSON = 2
const PHOTO_CACHE_SIZE = 64

export type ShareOutcome = 'done' | 'continue' | 'locked'

interface RunnerDeps {
  db: PrismaClient
  /** Where item results are written (a pool without synchronous commit; a lost result only repeats an item). */
  sql: SqlRunner
  connector: DeviceConnector
  locks: DeviceLocks
  signer: MediaSigner
  uploadsDir: string
  settings: SyncSettings
  log: FastifyBaseLogger
  onProgress?: (jobId: string) => void
}

class DeviceFailure extends Error {
  constructor (readonly code: string, message: string) { super(message) }
}

/** Resolves once requests dispatched so far are written: undici writes a request in a later check phase. */
const afterQueuedWrites = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))

const errorCodeOf = (err: unknown) => (isIsapiError(err) ? err.code : (err as { code?: string }).code ?? 'SYNC_ERROR')

export function createSyncRunner (deps: RunnerDeps) {
  const { db, settings } = deps

  /** Retries busy answers with back-off and a dead connection a few times; a device that stays away fails the device. */
  async function withRetries<T> (run: () => Promise<T>): Promise<T> {
    let busy = 0
    let transient = 0
    for (;;) {
      try {
        return await run()
      } catch (err) {
        const cause = err instanceof StepError ? err.cause : err
        if (isIsapiError(cause, 'DEVICE_BUSY') && busy < settings.busyRetries) {
          await sleep(settings.busyBackoffMs * 2 ** busy++)
          continue
        }
        const transientCode = isIsapiError(cause, 'DEVICE_UNREACHABLE') || isIsapiError(cause, 'DEVICE_TIMEOUT')
        if (transientCode && transient < settings.transientRetries) {
          await sleep(settings.transientBackoffMs * 2 ** transient++)
          continue
        }
        if (isIsapiError(cause) && !cause.local && (DEVICE_LEVEL as readonly string[]).includes(cause.code)) throw new DeviceFailure(cause.code, cause.message)
        if (isIsapiError(cause, 'DEVICE_AUTH_FAILED') || isIsapiError(cause, 'DEVICE_LOCKED')) throw new DeviceFailure(cause.code, cause.message)
        throw err
      }
    }
  }

  // Photo files never change (a new photo gets a new name), and the shares of one job ask for the same
  // photos at about the same time: keep the most recently used reads (a read in progress included)
  // instead of reading each once per device.
  const photos = new Map<string, Promise<Buffer>>()
  const readPhoto = (photoUrl: string) => {
    let image = photos.get(photoUrl)
    if (image) {
      photos.delete(photoUrl)
    } else {
      image = readFile(path.join(deps.uploadsDir, photoUrl.replace(/^\/uploads\//, '')))
      const read = image
      read.catch(() => { if (photos.get(photoUrl) === read) photos.delete(photoUrl) })
      if (photos.size >= PHOTO_CACHE_SIZE) photos.delete(photos.keys().next().value as string)
    }
    photos.set(photoUrl, image)
    return image
  }
  const faceSource = async (photoUrl: string): Promise<FaceSource> => {
    if (settings.faceMode === 'url') return { faceURL: deps.signer.signedUrl(photoUrl, settings.faceUrlTtlSeconds) }
    return { image: await readPhoto(photoUrl) }
  }

  async function processItem (ctx: ShareContext, item: SyncJobItem, student: Student | undefined): Promise<{ result: ItemResult, pd?: PersonDeviceChange }> {
    const base = { studentId: item.studentId as string, deviceId: item.deviceId, employeeNo: item.employeeNo }
    const ok = (o: PersonOutcome, state: PersonDeviceChange['state'], version: number | null) => ({
      result: { id: item.id, status: o.status, errorMessage: o.status === 'skipped' ? o.reason : null },
      pd: o.status === 'skipped' && o.reason === 'unchanged'
        ? undefined
        : item.studentId ? { ...base, state, syncedVersion: o.status === 'success' && o.recordVersion !== undefined ? o.recordVersion : version, facePhotoVersion: o.facePhotoVersion ?? null, faceOnDevice: o.faceOnDevice ?? false } : undefined,
    })
    try {
      if (item.action === 'copy') return { result: { id: item.id, ...(await withRetries(() => cloneDeviceItem(ctx.clone!, item.employeeNo))) } }
      const active = student && student.status === 'active' && !student.deletedAt
      const action = item.action === 'upsert' || item.action === 'face' ? (active ? item.action : ctx.inactiveAction) : item.action
      if (action === 'remove') {
        await withRetries(() => removePerson(ctx.client, item.employeeNo))
        return ok({ status: 'success', faceOnDevice: false, facePhotoVersion: null }, 'removed', student?.version ?? null)
      }
      if (!student) return { result: { id: item.id, status: 'skipped', errorMessage: 'person no longer exists' } }
      if (action === 'disable') return ok(await withRetries(() => disablePerson(ctx.client, student, ctx.userOptions)), 'removed', student.version)
      const outcome = await withRetries(() => syncPerson(ctx.client, student, ctx.persons.get(student.id) ?? null, {
        ...ctx.userOptions, supportsSetUp: ctx.supportsSetUp, full: ctx.full, photosOnly: action === 'face', faceSource,
      }))
      return ok(outcome, 'synced', student.version)
    } catch (err) {
      if (err instanceof DeviceFailure) throw err
      const step = err instanceof StepError ? err.step : 'user'
      const cause = err instanceof StepError ? err.cause : err
      const message = (cause as Error).message
      return {
        result: { id: item.id, status: 'failed', step, errorCode: errorCodeOf(cause), errorMessage: message },
        pd: item.studentId && item.action !== 'remove' ? { ...base, state: 'failed', lastError: message } : undefined,
      }
    }
  }

  interface ShareContext {
    job: SyncJob
    device: Device
    client: IsapiClient
    full: boolean
    supportsSetUp: boolean
    inactiveAction: 'remove' | 'disable'
    userOptions: { timeZone: string, nameMaxLength?: number }
    persons: Map<string, Awaited<ReturnType<PrismaClient['personDevice']['findMany']>>[number]>
    clone?: Parameters<typeof cloneDeviceItem>[0]
  }

  async function prepare (job: SyncJob, device: Device, school: School): Promise<ShareContext> {
    const caps = (device.capabilities as IsapiCapabilities | null)?.users
    const params = job.params as { full?: boolean, fromDeviceId?: string }
    const ctx: ShareContext = {
      job, device,
      client: deps.connector.connect(device),
      full: params.full === true,
      supportsSetUp: caps?.supportsSetUp ?? false,
      inactiveAction: school.inactiveOnDevice,
      userOptions: { timeZone: school.timezone, nameMaxLength: caps?.nameMaxLength },
      persons: new Map(),
    }
    if (job.type === 'clone_device' && params.fromDeviceId) {
      const source = await db.device.findFirst({ where: { id: params.fromDeviceId, deletedAt: null } })
      if (!source) throw new DeviceFailure('SOURCE_DEVICE_NOT_FOUND', 'The source device no longer exists')
      ctx.clone = { source: deps.connector.connect(source), target: ctx.client }
      await withRetries(() => planDeviceClone(db, job.id, device.id, ctx.clone!))
    }
    return ctx
  }

  /** A page of a share's pending items (after `afterId`), with their students and person-on-device rows. */
  async function loadPage (jobId: string, deviceId: string, afterId?: bigint) {
    const items = await pendingItems(db, jobId, deviceId, PAGE, afterId)
    const studentIds = items.flatMap((i) => (i.studentId ? [i.studentId] : []))
    const [students, persons] = studentIds.length === 0
      ? [[], []]
      : await Promise.all([
        db.student.findMany({ where: { id: { in: studentIds } } }),
        db.personDevice.findMany({ where: { deviceId, studentId: { in: studentIds } } }),
      ])
    return {
      items,
      students: new Map(students.map((s) => [s.id, s])),
      persons: new Map(persons.map((p) => [p.studentId, p])),
    }
  }

  async function closeShare (jobId: string, deviceId: string, failure?: DeviceFailure) {
    const job = await db.syncJob.findUniqueOrThrow({ where: { id: jobId } })
    if (failure) {
      await failRemaining(db, jobId, deviceId, failure.code, failure.message)
      await markPersonsFailed(db, jobId, deviceId, failure.message)
    } else if (job.cancelledAt) {
      await failRemaining(db, jobId, deviceId, 'CANCELLED', 'Cancelled before this person was reached', 'cancelled')
    }
    await setShareStatus(db, jobId, deviceId, {
      status: failure ? 'failed' : job.cancelledAt ? 'cancelled' : 'succeeded',
      errorCode: failure?.code ?? null, errorMessage: failure?.message ?? null, finishedAt: new Date(),
    })
    await finishJobIfDone(db, jobId)
    deps.onProgress?.(jobId)
  }

  /**
   * Runs one device's share of a job for up to `sliceMs`, under that device's lock (and the source's,
   * for a device clone). Items are read from the database page by page and each result is written as
   * it happens, so a crash repeats at most the item in flight.
   */
  async function runShare (jobId: string, deviceId: string): Promise<ShareOutcome> {
    const [job, share] = await Promise.all([
      db.syncJob.findUnique({ where: { id: jobId } }),
      db.syncJobDevice.findUnique({ where: { jobId_deviceId: { jobId, deviceId } } }),
    ])
    if (!job || !share || share.status === 'succeeded' || share.status === 'failed' || share.status === 'cancelled') return 'done'
    const fromDeviceId = (job.params as { fromDeviceId?: string }).fromDeviceId
    const lock = await deps.locks.tryLock(fromDeviceId ? [deviceId, fromDeviceId] : [deviceId])
    if (!lock) return 'locked'
    const started = Date.now()
    const progress = createShareProgress(deps.sql, jobId, deps.log)
    try {
      const [device, school] = await Promise.all([
        db.device.findFirst({ where: { id: deviceId, deletedAt: null } }),
        db.school.findUniqueOrThrow({ where: { id: job.schoolId } }),
        db.syncJob.updateMany({ where: { id: jobId, status: 'queued' }, data: { status: 'running', startedAt: new Date() } }),
        setShareStatus(db, jobId, deviceId, { status: 'running', startedAt: share.startedAt ?? new Date() }),
      ])
      if (!device) throw new DeviceFailure('DEVICE_NOT_FOUND', 'The device was deleted')
      if (!device.username || !device.passwordEncrypted) throw new DeviceFailure('DEVICE_NO_CREDENTIALS', `Device "${device.name}" has no username and password`)
      const ctx = await prepare(job, device, school)
      let next = loadPage(jobId, deviceId)
      for (;;) {
        if (progress.checkpoint()) break
        const page = await next
        if (page.items.length === 0) break
        // The next page loads while this one is sent (an abandoned load must not reject unhandled).
        next = loadPage(jobId, deviceId, page.items[page.items.length - 1].id)
        next.catch(() => {})
        ctx.persons = page.persons
        for (const item of page.items) {
          if (progress.checkpoint()) break
          const { result, pd } = await processItem(ctx, item, item.studentId ? page.students.get(item.studentId) : undefined)
          // A Digest challenge good for the next person (a record and a face: two calls) is fetched
          // while this result is written, if the cached one would not last. Its request goes out first,
          // not behind the result's write syscall (which wakes Postgres: ≈ 1 ms on a VM that halts idle CPUs).
          const renewing = ctx.client.renewAuth(CALLS_PER_PERSON)
          if (renewing) await afterQueuedWrites()
          const [status] = await Promise.all([recordItem(deps.sql, result, pd), renewing])
          if (status) progress.add(status, result.errorMessage)
          deps.onProgress?.(jobId)
          // Checked per item: a slice must end well before pg-boss would expire (and re-run) it.
          if (Date.now() - started > settings.sliceMs) return 'continue'
          if (settings.pacingMs > 0) await sleep(settings.pacingMs)
        }
      }
      await progress.flushNow()
      await closeShare(jobId, deviceId)
      return 'done'
    } catch (err) {
      // Counters first: closing may finish the job, which recounts it exactly.
      await progress.flushNow().catch(() => {})
      if (!(err instanceof DeviceFailure)) {
        if (isIsapiError(err) || (err as { statusCode?: number }).statusCode === 422) {
          await closeShare(jobId, deviceId, new DeviceFailure(errorCodeOf(err), (err as Error).message))
          return 'done'
        }
        throw err
      }
      deps.log.warn({ jobId, deviceId, code: err.code }, 'sync: device failed, its remaining items are marked')
      await closeShare(jobId, deviceId, err)
      return 'done'
    } finally {
      await progress.settle()
      await lock.release()
    }
  }

  return { runShare }
}

export type SyncRunner = ReturnType<typeof createSyncRunner>
