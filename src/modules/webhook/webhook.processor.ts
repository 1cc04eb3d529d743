import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Device, PrismaClient } from '../../generated/prisma/client.js'
import { parseDeviceDateTime, type IsapiAccessEvent, type IsapiPushEvent } from '../../integrations/isapi/index.js'
import type { DbClient } from '../../lib/db.js'
import { localDateOf, utcOffsetMinutes } from '../../lib/timezone.js'
import { recomputeDays, type DayKey } from '../attendance/daily.js'
import { classifyEvent } from '../attendance/event-kinds.js'
import { studentIdsByNumber } from '../students/students.repository.js'
import { parsePushBody } from './webhook.parse.js'
import type { EventPictures } from './webhook.pictures.js'

const CACHE_MS = 10_000
const UNKNOWN_SENDER_RELOAD_MS = 1000
const BATCH = 500

interface InboxRow { id: bigint, school_id: string, direction: 'in' | 'out', remote_ip: string | null, content_type: string | null, body: Uint8Array, received_at: Date }
type SchoolInfo = { timezone: string, devices: Device[], at: number }

export interface NewEvent {
  schoolId: string
  deviceId: string | null
  studentId: string | null
  employeeNo: string | null
  direction: 'in' | 'out'
  occurredAt: Date
  deviceTime: string | null
  serialNo: number | null
  major: number
  minor: number
  kind: string
  countsForAttendance: boolean
  source: string
  dedupeKey: string
  senderKey: string | null
  inboxId: bigint | null
  payload: unknown
  /** The serial before this one on the device, as pushed (a jump means events were lost). */
  frontSerialNo?: number | null
  picturePath?: string | null
}

export const deviceSenderKey = (deviceId: string) => `device:${deviceId}`

/**
 * The dedupe key of an event with a serial, the same whether it was pushed or back-filled. The
 * second of the event is part of it: serials restart at 1 after a factory reset or a cleared log,
 * and the new serial 1 must not be taken for the old one.
 */
export const serialDedupeKey = (senderKey: string, serialNo: number, occurredAt: Date) => `${senderKey}:${serialNo}:${Math.floor(occurredAt.getTime() / 1000)}`

/** A `both` terminal says in or out through attendanceStatus; otherwise `fallback` stands. */
function passDirection (device: Pick<Device, 'direction'> | null, attendanceStatus: string | null, fallback: 'in' | 'out') {
  if (device?.direction !== 'both' || (attendanceStatus !== 'checkIn' && attendanceStatus !== 'checkOut')) return fallback
  return attendanceStatus === 'checkIn' ? 'in' : 'out'
}

/**
 * The fields of an event that come from the terminal's access event, the same whether it was pushed
 * or back-filled. A device time without an offset is read in the school's zone as at `receivedAt`,
 * and an event without a time is taken to have happened at `receivedAt`.
 */
export function accessEventFields (a: IsapiAccessEvent, { device, fallbackDirection, timezone, receivedAt }: {
  device: Pick<Device, 'direction'> | null, fallbackDirection: 'in' | 'out', timezone: string, receivedAt: Date
}) {
  return {
    employeeNo: a.employeeNo,
    direction: passDirection(device, a.attendanceStatus, fallbackDirection),
    occurredAt: a.occurredAt ?? (a.time ? parseDeviceDateTime(a.time, utcOffsetMinutes(timezone, receivedAt)) : undefined) ?? receivedAt,
    deviceTime: a.time,
    serialNo: a.serialNo,
    major: a.major,
    minor: a.minor,
    ...classifyEvent(a.major, a.minor),
  }
}

interface SenderMatch { device: Device, by: 'mac' | 'serial' | 'address' }

/**
 * The school's device that sent this: by MAC, then serial number, then source IP. An address match
 * skips devices whose stored MAC or serial is another terminal's, and one that leaves two devices
 * is no match (the events are kept under their sender, not booked to a guess).
 */
function identifySender (devices: Device[], e: IsapiPushEvent, remoteIp: string | null): SenderMatch | null {
  const mac = e.macAddress?.toLowerCase()
  const short = e.shortSerialNumber
  const hasSerial = (d: Device) => Boolean(short && (d.serialNumber?.endsWith(short) || d.deviceId === short))
  const byMac = mac ? devices.find((d) => d.macAddress?.toLowerCase() === mac) : undefined
  if (byMac) return { device: byMac, by: 'mac' }
  const bySerial = devices.find(hasSerial)
  if (bySerial) return { device: bySerial, by: 'serial' }
  const someoneElse = (d: Device) => Boolean((mac && d.macAddress) || (short && d.serialNumber))
  const byAddress = devices.filter((d) => (d.host === e.ipAddress || d.host === remoteIp) && !someoneElse(d))
  return byAddress.length === 1 ? { device: byAddress[0], by: 'address' } : null
}

/**
 * The cached devices may predate this sender: none matches, or only the address does while the event
 * names a MAC or serial none has (a terminal registered or connection-tested since, sharing an address).
 */
const mayBeNewSender = (match: SenderMatch | null, e: IsapiPushEvent) =>
  !match || (match.by === 'address' && Boolean(e.macAddress || e.shortSerialNumber))

const stableHash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 32)

/**
 * Turns accepted webhook requests (the inbox) into events, in batches, off the request path:
 * identifies the terminal and the student, deduplicates on (sender, serialNo) — or a content hash
 * when there is no serial — and recomputes the days the new pass events touch.
 */
export function createEventProcessor ({ db, log, repeatScanSeconds, onGap, pictures }: {
  db: PrismaClient, log: FastifyBaseLogger, repeatScanSeconds: number
  /** When set, pictures pushed with events are kept (EVENT_PICTURES). */
  pictures?: EventPictures
  /** Devices whose pushed events skipped serials: their log should be back-filled. */
  onGap?: (deviceIds: string[]) => void
}) {
  const schools = new Map<string, SchoolInfo>()
  const students = new Map<string, { at: number, byNo: Map<string, string> }>()

  async function schoolInfo (tx: DbClient, schoolId: string) {
    const hit = schools.get(schoolId)
    if (hit && Date.now() - hit.at < CACHE_MS) return hit
    const school = await tx.school.findUnique({ where: { id: schoolId }, select: { timezone: true } })
    const info = { timezone: school?.timezone ?? 'UTC', devices: await tx.device.findMany({ where: { schoolId, deletedAt: null }, orderBy: { createdAt: 'asc' } }), at: Date.now() }
    schools.set(schoolId, info)
    return info
  }

  /** Known employeeNos are cached per school; misses are looked up together (a student may be minutes old). */
  async function studentIdsOf (tx: DbClient, schoolId: string, employeeNos: string[]) {
    let entry = students.get(schoolId)
    if (!entry || Date.now() - entry.at > CACHE_MS) {
      entry = { at: Date.now(), byNo: new Map() }
      students.set(schoolId, entry)
    }
    const cached = entry.byNo
    const found = await studentIdsByNumber(tx, schoolId, employeeNos.filter((no) => !cached.has(no)))
    for (const [no, id] of found) cached.set(no, id)
    return cached
  }

  async function toEvents (tx: DbClient, row: InboxRow) {
    const parsed = parsePushBody(Buffer.from(row.body), row.content_type ?? undefined)
    let info = await schoolInfo(tx, row.school_id)
    if (parsed.events.some((e) => mayBeNewSender(identifySender(info.devices, e, row.remote_ip), e)) && Date.now() - info.at > UNKNOWN_SENDER_RELOAD_MS) {
      schools.delete(row.school_id)
      info = await schoolInfo(tx, row.school_id)
    }
    const out: NewEvent[] = []
    const heartbeats: string[] = []
    const picturePath = pictures && parsed.picture ? await pictures.save(row.school_id, row.id, row.received_at, parsed.picture) : null
    const studentIds = await studentIdsOf(tx, row.school_id, parsed.events.flatMap((e) => (e.accessEvent?.employeeNo ? [e.accessEvent.employeeNo] : [])))
    for (const e of parsed.events) {
      const device = identifySender(info.devices, e, row.remote_ip)?.device ?? null
      if (e.isHeartbeat || !e.accessEvent) {
        if (device) heartbeats.push(device.id)
        continue
      }
      const a = e.accessEvent
      const fields = accessEventFields(a, { device, fallbackDirection: row.direction, timezone: info.timezone, receivedAt: row.received_at })
      const senderKey = device ? deviceSenderKey(device.id) : `sender:${e.macAddress ?? e.shortSerialNumber ?? e.ipAddress ?? row.remote_ip ?? 'unknown'}`
      out.push({
        schoolId: row.school_id,
        deviceId: device?.id ?? null,
        studentId: a.employeeNo ? studentIds.get(a.employeeNo) ?? null : null,
        ...fields,
        source: 'push',
        dedupeKey: a.serialNo !== null ? serialDedupeKey(senderKey, a.serialNo, fields.occurredAt) : `hash:${stableHash({ senderKey, a })}`,
        senderKey: device ? null : senderKey,
        inboxId: row.id,
        payload: e,
        frontSerialNo: a.frontSerialNo,
        picturePath,
      })
    }
    return { events: out, heartbeats }
  }

  async function drainOnce () {
    const touched: DayKey[] = []
    let gaps: string[] = []
    const count = await db.$transaction(async (tx) => {
      const rows = await tx.$queryRawUnsafe<InboxRow[]>(`
        SELECT id, school_id, direction::text AS direction, remote_ip, content_type, body, received_at FROM event_inbox
        WHERE processed_at IS NULL ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`)
      const events: NewEvent[] = []
      const heartbeats: string[] = []
      const failures: Array<{ id: bigint, code: string, message: string }> = []
      for (const row of rows) {
        try {
          const made = await toEvents(tx, row)
          events.push(...made.events)
          heartbeats.push(...made.heartbeats)
        } catch (err) {
          const e = err as { code?: string, message?: string }
          failures.push({ id: row.id, code: e.code ?? 'PROCESSING_FAILED', message: (e.message ?? '').slice(0, 500) })
        }
      }
      const inserted = await insertEvents(tx, events)
      gaps = await noteDevices(tx, events, heartbeats)
      const perRow = new Map<bigint, number>()
      for (const e of inserted) if (e.inboxId !== null) perRow.set(e.inboxId, (perRow.get(e.inboxId) ?? 0) + 1)
      if (rows.length > 0) {
        await tx.$executeRawUnsafe(`UPDATE event_inbox SET processed_at = now(), event_count = x.n
          FROM unnest($1::bigint[], $2::int[]) AS x(id, n) WHERE event_inbox.id = x.id`,
        rows.map((r) => String(r.id)), rows.map((r) => perRow.get(r.id) ?? 0))
      }
      for (const f of failures) {
        await tx.$executeRawUnsafe('UPDATE event_inbox SET error_code = $2, error_message = $3 WHERE id = $1', f.id, f.code, f.message)
      }
      for (const e of inserted) {
        if (e.countsForAttendance && e.studentId) touched.push({ schoolId: e.schoolId, studentId: e.studentId, date: localDateOf(e.occurredAt, (await schoolInfo(tx, e.schoolId)).timezone) })
      }
      return rows.length
    }, { timeout: 60_000, maxWait: 10_000 })
    if (gaps.length > 0) onGap?.(gaps)
    await recomputeDays(db, touched, repeatScanSeconds)
    return count
  }

  let current: Promise<void> | null = null
  let again = false
  /** Drains the inbox (coalescing concurrent kicks; resolves when the drain it joined ends); errors are logged, rows stay for the next run. */
  function kick (): Promise<void> {
    if (current) {
      again = true
      return current
    }
    current = (async () => {
      try {
        do {
          again = false
          while (await drainOnce() === BATCH);
        } while (again)
      } catch (err) {
        log.error({ err }, 'event inbox processing failed')
      } finally {
        current = null
      }
    })()
    return current
  }

  return { kick, invalidate: (schoolId: string) => { schools.delete(schoolId); students.delete(schoolId) } }
}

/** Inserts events, skipping duplicates; returns only those that were new. */
export async function insertEvents (tx: DbClient, all: NewEvent[]) {
  // A push and its re-send can share a batch: the first copy is the event, the second a duplicate.
  const seen = new Set<string>()
  const events = all.filter((e) => {
    const key = `${e.schoolId}|${e.dedupeKey}`
    return !seen.has(key) && !!seen.add(key)
  })
  if (events.length === 0) return []
  const rows = await tx.$queryRawUnsafe<Array<{ dedupe_key: string }>>(`
    INSERT INTO attendance_events (school_id, device_id, student_id, employee_no, direction, occurred_at, device_time, serial_no, major, minor, kind,
      counts_for_attendance, source, dedupe_key, sender_key, inbox_id, payload, picture_path)
    SELECT school_id, device_id, student_id, employee_no, direction::"DeviceDirection", occurred_at, device_time, serial_no, major, minor, kind,
      counts_for_attendance, source, dedupe_key, sender_key, inbox_id, payload, picture_path
    FROM jsonb_to_recordset($1::jsonb) AS x(school_id uuid, device_id uuid, student_id uuid, employee_no text, direction text, occurred_at timestamptz,
      device_time text, serial_no int, major int, minor int, kind text, counts_for_attendance boolean, source text, dedupe_key text, sender_key text,
      inbox_id bigint, payload jsonb, picture_path text)
    ON CONFLICT (school_id, dedupe_key) DO NOTHING RETURNING dedupe_key`,
  JSON.stringify(events.map((e) => ({
    school_id: e.schoolId, device_id: e.deviceId, student_id: e.studentId, employee_no: e.employeeNo, direction: e.direction,
    occurred_at: e.occurredAt.toISOString(), device_time: e.deviceTime, serial_no: e.serialNo, major: e.major, minor: e.minor, kind: e.kind,
    counts_for_attendance: e.countsForAttendance, source: e.source, dedupe_key: e.dedupeKey, sender_key: e.senderKey,
    inbox_id: e.inboxId === null ? null : String(e.inboxId), payload: e.payload, picture_path: e.picturePath ?? null,
  }))))
  const fresh = new Set(rows.map((r) => r.dedupe_key))
  return events.filter((e) => fresh.has(e.dedupeKey))
}

/**
 * The last serial up to which nothing is missing. It moves only over events that follow on from it
 * (frontSerialNo at or below it, or unknown), so a gap stays visible until a back-fill closes it.
 */
export function advanceWatermark (last: number | null, events: Array<Pick<NewEvent, 'serialNo' | 'frontSerialNo'> & { occurredAt?: Date }>, lastEventAt: Date | null = null) {
  let mark = last
  const serials = events.filter((e): e is typeof e & { serialNo: number } => e.serialNo !== null).sort((a, b) => a.serialNo - b.serialNo)
  // A lower serial that is newer than anything we had: the terminal's log was reset; count from it.
  const restart = mark !== null && lastEventAt ? serials.find((e) => e.serialNo < (mark as number) && e.occurredAt && e.occurredAt > lastEventAt) : undefined
  if (restart) return { watermark: Math.max(...serials.filter((e) => e.serialNo >= restart.serialNo).map((e) => e.serialNo)), gap: false, restarted: true }
  for (const e of serials) {
    if (mark !== null && e.serialNo <= mark) continue
    if (mark !== null && e.frontSerialNo != null && e.frontSerialNo > mark) return { watermark: mark, gap: true, restarted: false }
    mark = e.serialNo
  }
  return { watermark: mark, gap: false, restarted: false }
}

/** Heartbeats and event times per device; returns the devices whose events show a gap. */
async function noteDevices (tx: DbClient, events: NewEvent[], heartbeats: string[]) {
  const now = new Date()
  if (heartbeats.length > 0) await tx.device.updateMany({ where: { id: { in: [...new Set(heartbeats)] } }, data: { lastHeartbeatAt: now, lastSeenAt: now } })
  const byDevice = new Map<string, NewEvent[]>()
  for (const e of events) {
    if (!e.deviceId) continue
    const list = byDevice.get(e.deviceId)
    if (list) list.push(e)
    else byDevice.set(e.deviceId, [e])
  }
  const gaps: string[] = []
  if (byDevice.size === 0) return gaps
  const marks = new Map((await tx.$queryRawUnsafe<Array<{ id: string, last: number | null, last_at: Date | null }>>(
    'SELECT id::text, last_event_serial_no AS last, last_event_at AS last_at FROM devices WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [...byDevice.keys()])).map((r) => [r.id, r]))
  for (const [id, list] of byDevice) {
    const known = marks.get(id)
    const { watermark, gap } = advanceWatermark(known?.last ?? null, list, known?.last_at ?? null)
    if (gap) gaps.push(id)
    await tx.$executeRawUnsafe('UPDATE devices SET last_event_at = GREATEST(last_event_at, $2), last_seen_at = $3, last_event_serial_no = $4 WHERE id = $1::uuid',
      id, new Date(Math.max(...list.map((e) => e.occurredAt.getTime()))), now, watermark)
  }
  return gaps
}
