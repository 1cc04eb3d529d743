import type { FastifyBaseLogger } from 'fastify'
import type { Device, PrismaClient } from '../../generated/prisma/client.js'
import type { EventFilter, IsapiAccessEvent, IsapiCapabilities, IsapiClient } from '../../integrations/isapi/index.js'
import type { DeviceLocks } from '../../lib/device-locks.js'
import { localDateOf, utcOffsetMinutes } from '../../lib/timezone.js'
import { recomputeDays, type DayKey } from '../attendance/daily.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import { accessEventFields, deviceSenderKey, insertEvents, serialDedupeKey, type NewEvent } from './webhook.processor.js'
import { pushDirectionOf } from './webhook.push-setup.js'
import type { BackfillTrigger } from './webhook.schemas.js'
import { studentIdsByNumber } from '../students/students.repository.js'

export interface BackfillResult {
  deviceId: string
  status: 'done' | 'failed' | 'skipped'
  /** serial: AcsEvent asked from beginSerialNo; time: a time window, filtered by serial here. */
  mode: 'serial' | 'time' | null
  fromSerial: number | null
  toSerial: number | null
  /** Events the device holds beyond fromSerial. */
  found: number
  /** Of those, the ones we did not have (the gap that was filled). */
  inserted: number
  errorCode: string | null
  errorMessage: string | null
  startedAt: Date
  finishedAt: Date
  /** The failure itself, for a caller that wants to rethrow it. */
  error?: unknown
}

export interface BackfillSettings {
  /** Back-fill every device this often (and once at start-up); 0 = only on gaps and on demand. */
  intervalMs: number
  /** How soon a gap seen in a push is back-filled, and how often at most per device. */
  gapDelayMs: number
  gapMinIntervalMs: number
  concurrency: number
}

const PAGE_BATCH = 100
// A time-window search starts this much before the last event we have: device clocks drift and get corrected.
const TIME_MARGIN_MS = 60 * 60_000
// A device we never had an event from is searched from a day before it was registered.
const FIRST_LOOKBACK_MS = 24 * 3_600_000
// Quiet runs are only worth keeping for a day; the others (something found, or a failure) for 90.
const KEEP_QUIET_MS = 24 * 3_600_000
const KEEP_MS = 90 * 24 * 3_600_000

interface Context { device: Device, timezone: string, client: IsapiClient }

/**
 * Reads what a terminal's own event log (AcsEvent) holds beyond the last serial we have, and inserts
 * what is missing with the same dedupe key as a push, so a pushed event and its back-filled copy are one.
 * Always under the device lock; a device fault is recorded on its run and never stops the others.
 */
export function createBackfill ({ db, connector, locks, log, repeatScanSeconds, settings }: {
  db: PrismaClient
  connector: Pick<DeviceConnector, 'connect'>
  locks: Pick<DeviceLocks, 'tryLock'>
  log: FastifyBaseLogger
  repeatScanSeconds: number
  settings: BackfillSettings
}) {
  const inFlight = new Set<Promise<unknown>>()
  const track = <T>(p: Promise<T>) => {
    inFlight.add(p)
    p.finally(() => inFlight.delete(p)).catch(() => {})
    return p
  }

  async function plan ({ device, client, timezone }: Context): Promise<{ mode: 'serial' | 'time', filter: EventFilter }> {
    const from = device.lastEventSerialNo
    const caps = device.capabilities as IsapiCapabilities | null
    if (from !== null && caps?.events?.supportsSerialRange) return { mode: 'serial', filter: { beginSerialNo: from + 1 } }
    const time = await client.getTime()
    let since: number
    if (from !== null) since = (device.lastEventAt ?? device.createdAt).getTime()
    else {
      const lastRun = await db.deviceBackfill.findFirst({ where: { deviceId: device.id, errorCode: null }, orderBy: { startedAt: 'desc' }, select: { startedAt: true } })
      since = lastRun?.startedAt.getTime() ?? device.createdAt.getTime() - FIRST_LOOKBACK_MS
    }
    const offset = time.utcOffsetMinutes ?? time.zoneOffsetMinutes ?? utcOffsetMinutes(timezone, new Date())
    // Both ends: some firmware rejects a window open at one end. The far end allows for a fast device clock.
    const endTime = new Date(Date.now() + FIRST_LOOKBACK_MS)
    return { mode: 'time', filter: { startTime: new Date(since - TIME_MARGIN_MS), endTime, deviceUtcOffsetMinutes: offset } }
  }

  const schoolTimezone = async (schoolId: string) =>
    (await db.school.findUnique({ where: { id: schoolId }, select: { timezone: true } }))?.timezone ?? 'UTC'

  async function toNewEvents ({ device, timezone }: Context, events: IsapiAccessEvent[]): Promise<NewEvent[]> {
    const byNo = await studentIdsByNumber(db, device.schoolId, events.flatMap((e) => (e.employeeNo ? [e.employeeNo] : [])))
    const fallbackDirection = pushDirectionOf(device)
    return events.map((a) => {
      const fields = accessEventFields(a, { device, fallbackDirection, timezone, receivedAt: new Date() })
      return {
        schoolId: device.schoolId,
        deviceId: device.id,
        studentId: a.employeeNo ? byNo.get(a.employeeNo) ?? null : null,
        ...fields,
        source: 'backfill',
        dedupeKey: serialDedupeKey(deviceSenderKey(device.id), a.serialNo as number, fields.occurredAt),
        senderKey: null,
        inboxId: null,
        payload: a,
      }
    })
  }

  /**
   * Streams the device's log, inserting in batches. The watermark moves only once the whole search has
   * been read; the days of what was inserted are recomputed even when the device fails half-way.
   */
  async function fill (ctx: Context, filter: EventFilter, progress: { found: number, inserted: number }) {
    const from = ctx.device.lastEventSerialNo
    const touched: DayKey[] = []
    let toSerial = from
    let lastAt = 0
    const batch: IsapiAccessEvent[] = []
    const flush = async () => {
      const events = await toNewEvents(ctx, batch.splice(0))
      const fresh = await insertEvents(db, events)
      progress.inserted += fresh.length
      for (const e of fresh) {
        if (e.countsForAttendance && e.studentId) touched.push({ schoolId: e.schoolId, studentId: e.studentId, date: localDateOf(e.occurredAt, ctx.timezone) })
      }
      lastAt = Math.max(lastAt, ...events.map((e) => e.occurredAt.getTime()))
    }
    try {
      for await (const e of ctx.client.iterateEvents(filter)) {
        if (e.serialNo === null || (from !== null && e.serialNo <= from)) continue
        progress.found++
        toSerial = Math.max(toSerial ?? 0, e.serialNo)
        batch.push(e)
        if (batch.length >= PAGE_BATCH) await flush()
      }
      if (batch.length > 0) await flush()
    } finally {
      await recomputeDays(db, touched, repeatScanSeconds)
    }
    if (toSerial !== null && toSerial !== from) {
      await db.$executeRawUnsafe(`UPDATE devices SET last_event_serial_no = GREATEST(COALESCE(last_event_serial_no, 0), $2),
        last_event_at = GREATEST(last_event_at, $3) WHERE id = $1::uuid`, ctx.device.id, toSerial, new Date(lastAt))
    }
    return toSerial
  }

  async function runLocked (deviceId: string, trigger: BackfillTrigger, startedAt: Date): Promise<BackfillResult> {
    // Re-read under the lock: the watermark may have moved since the caller looked.
    const device = await db.device.findFirstOrThrow({ where: { id: deviceId } })
    const base = { deviceId, fromSerial: device.lastEventSerialNo, startedAt }
    let mode: 'serial' | 'time' | null = null
    const progress = { found: 0, inserted: 0 }
    try {
      const ctx = { device, timezone: await schoolTimezone(device.schoolId), client: connector.connect(device) }
      const p = await plan(ctx)
      mode = p.mode
      const toSerial = await fill(ctx, p.filter, progress)
      const result: BackfillResult = { ...base, ...progress, status: 'done', mode, toSerial, errorCode: null, errorMessage: null, finishedAt: new Date() }
      await record(result, trigger)
      if (result.inserted > 0) log.info({ deviceId, trigger, ...progress, fromSerial: base.fromSerial, toSerial }, 'back-fill filled a gap')
      return result
    } catch (err) {
      const e = err as { code?: string, message?: string }
      const result: BackfillResult = {
        ...base, ...progress, status: 'failed', mode, toSerial: null,
        errorCode: e.code ?? 'BACKFILL_FAILED', errorMessage: (e.message ?? String(err)).slice(0, 500), finishedAt: new Date(), error: err,
      }
      await record(result, trigger)
      log.warn({ deviceId, trigger, code: result.errorCode }, 'back-fill failed')
      return result
    }
  }

  async function record (r: BackfillResult, trigger: BackfillTrigger) {
    await db.deviceBackfill.create({
      data: {
        deviceId: r.deviceId, trigger, mode: r.mode ?? 'none', startedAt: r.startedAt, finishedAt: r.finishedAt, fromSerial: r.fromSerial,
        toSerial: r.toSerial, found: r.found, inserted: r.inserted, errorCode: r.errorCode, errorMessage: r.errorMessage,
      },
    })
  }

  /** One device; skipped (nothing recorded) when another operation holds it. */
  async function runDevice (deviceId: string, trigger: BackfillTrigger): Promise<BackfillResult> {
    const startedAt = new Date()
    const lock = await locks.tryLock([deviceId])
    if (!lock) {
      return {
        deviceId, status: 'skipped', mode: null, fromSerial: null, toSerial: null, found: 0, inserted: 0,
        errorCode: 'DEVICE_IN_USE', errorMessage: 'Another operation is talking to this device', startedAt, finishedAt: new Date(),
      }
    }
    try {
      return await runLocked(deviceId, trigger, startedAt)
    } finally {
      await lock.release()
    }
  }

  /**
   * The devices (of `ids`, or all) that may be asked unprompted: credentials set, not locked out, not known
   * to have a wrong password (each failed login brings a terminal closer to locking the account), and not
   * known to lack AcsEvent.
   */
  async function askable (ids?: string[]) {
    const now = new Date()
    const devices = await db.device.findMany({
      where: {
        ...(ids && { id: { in: ids } }),
        deletedAt: null, username: { not: null }, passwordEncrypted: { not: null },
        AND: [
          { OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
          { OR: [{ lastErrorCode: null }, { lastErrorCode: { not: 'DEVICE_AUTH_FAILED' } }] },
        ],
      },
      select: { id: true, capabilities: true },
    })
    return devices.filter((d) => (d.capabilities as IsapiCapabilities | null)?.supportsAcsEvent !== false).map((d) => d.id)
  }

  async function runAll (trigger: BackfillTrigger) {
    const queue = await askable()
    const results: BackfillResult[] = []
    const worker = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        try {
          results.push(await runDevice(id, trigger))
        } catch (err) {
          log.error({ err, deviceId: id }, 'back-fill run could not be recorded')
        }
      }
    }
    await Promise.all(Array.from({ length: settings.concurrency }, worker))
    return results
  }

  async function prune () {
    await db.deviceBackfill.deleteMany({
      where: { OR: [{ startedAt: { lt: new Date(Date.now() - KEEP_MS) } }, { startedAt: { lt: new Date(Date.now() - KEEP_QUIET_MS) }, found: 0, errorCode: null }] },
    })
  }

  const pendingGaps = new Map<string, NodeJS.Timeout>()
  const lastGapRun = new Map<string, number>()
  let closed = false

  /** A gap was seen in this device's pushes: back-fill it soon, at most once per gapMinIntervalMs; retried while the device is busy. */
  function soon (deviceId: string, attempt = 0) {
    if (closed || pendingGaps.has(deviceId)) return
    const earliest = (lastGapRun.get(deviceId) ?? 0) + settings.gapMinIntervalMs
    const delay = Math.max(settings.gapDelayMs, earliest - Date.now())
    pendingGaps.set(deviceId, setTimeout(() => {
      pendingGaps.delete(deviceId)
      lastGapRun.set(deviceId, Date.now())
      track((async () => {
        if ((await askable([deviceId])).length === 0) return
        const r = await runDevice(deviceId, 'gap')
        if (r.status === 'skipped' && attempt < 5) soon(deviceId, attempt + 1)
      })()).catch((err: unknown) => log.error({ err, deviceId }, 'gap back-fill failed'))
    }, delay))
  }

  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | null = null
  const tick = (trigger: BackfillTrigger) => {
    if (running || closed) return
    running = track(runAll(trigger).then(prune))
      .catch((err: unknown) => log.error({ err }, 'scheduled back-fill failed'))
      .finally(() => { running = null })
  }

  return {
    runDevice: (deviceId: string, trigger: BackfillTrigger) => track(runDevice(deviceId, trigger)),
    soon: (deviceIds: string[]) => { for (const id of deviceIds) soon(id) },
    /** The start-up run (in the background) and the schedule. */
    start () {
      if (settings.intervalMs <= 0) return
      tick('startup')
      timer = setInterval(() => tick('schedule'), settings.intervalMs)
    },
    async stop () {
      closed = true
      clearInterval(timer)
      for (const t of pendingGaps.values()) clearTimeout(t)
      pendingGaps.clear()
      await Promise.allSettled([...inFlight])
    },
  }
}

export type Backfill = ReturnType<typeof createBackfill>
