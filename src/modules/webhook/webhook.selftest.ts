import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { formatDeviceDateTime } from '../../integrations/isapi/index.js'
import { notFound } from '../../lib/errors.js'
import { localDateOf, utcOffsetMinutes } from '../../lib/timezone.js'
import { recomputeDays } from '../attendance/daily.js'
import { webhookPath } from './webhook.path.js'
import type { createEventProcessor } from './webhook.processor.js'
import type { WebhookDirection, WebhookSecrets } from './webhook.secrets.js'

const BOUNDARY = 'MIME_boundary'
const PROCESS_TIMEOUT_MS = 5000
/** A locally administered MAC: no terminal of the school has it, so the sample is an unknown sender unless a device is named. */
const SAMPLE_MAC = '02:00:00:00:00:01'
const SAMPLE_EMPLOYEE_NO = 'webhook-test'

export interface SelfPost { (path: string, body: Buffer, contentType: string): Promise<{ statusCode: number, body: string, via: 'http' | 'inject' }> }

/** A face pass as a DS-K1T673 pushes it: one `event_log` part with its own Content-Length (ISAPI.md §6.3). */
export function samplePushBody (o: { macAddress: string, ipAddress: string, shortSerialNumber?: string, employeeNo: string, name: string, dateTime: string }) {
  const json = Buffer.from(JSON.stringify({
    ipAddress: o.ipAddress, portNo: 80, protocol: 'HTTP', macAddress: o.macAddress, channelID: 1, dateTime: o.dateTime, activePostCount: 1,
    eventType: 'AccessControllerEvent', eventState: 'active', eventDescription: 'Access Controller Event',
    ...(o.shortSerialNumber && { shortSerialNumber: o.shortSerialNumber }),
    AccessControllerEvent: {
      deviceName: 'facegate webhook test', majorEventType: 5, subEventType: 75, name: o.name, cardReaderKind: 1, cardReaderNo: 1,
      employeeNoString: o.employeeNo, userType: 'normal', currentVerifyMode: 'faceOrFpOrCardOrPw', attendanceStatus: 'undefined', mask: 'no', picturesNumber: 0,
    },
  }, null, '\t'))
  const body = Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`),
    json,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ])
  return { body, contentType: `multipart/form-data; boundary=${BOUNDARY}` }
}

/**
 * Posts a sample face pass through the real intake (secret check, parsing, inbox, processor) and
 * reports what became of it. The sample has no serialNo, so it never moves a device's serial
 * watermark. Afterwards it is removed: the event and its inbox row are deleted, the student's day is
 * recomputed (or put back as it was), and a matched device's lastEventAt/lastSeenAt are put back,
 * so a test never shows up in attendance or device health.
 */
export function createWebhookSelfTest ({ db, secrets, processor, post, repeatScanSeconds }: {
  db: PrismaClient, secrets: WebhookSecrets, processor: Pick<ReturnType<typeof createEventProcessor>, 'kick' | 'invalidate'>, post: SelfPost, repeatScanSeconds: number
}) {
  async function snapshot (schoolId: string, employeeNo: string, date: string) {
    const devices = await db.device.findMany({ where: { schoolId, deletedAt: null }, select: { id: true, lastEventAt: true, lastSeenAt: true } })
    const student = await db.student.findFirst({ where: { schoolId, employeeNo, deletedAt: null }, select: { id: true } })
    const day = student ? await db.dailyAttendance.findUnique({ where: { studentId_date: { studentId: student.id, date: new Date(`${date}T00:00:00Z`) } } }) : null
    return { devices, day }
  }

  async function waitForInbox (schoolId: string, nonce: string, since: Date) {
    const deadline = Date.now() + PROCESS_TIMEOUT_MS
    for (;;) {
      await processor.kick()
      const [row] = await db.$queryRawUnsafe<Array<{ id: bigint, processed_at: Date | null, error_code: string | null, error_message: string | null }>>(
        `SELECT id, processed_at, error_code, error_message FROM event_inbox WHERE school_id = $1::uuid AND received_at >= $2
         AND position(convert_to($3, 'UTF8') IN body) > 0 ORDER BY id DESC LIMIT 1`, schoolId, since, nonce)
      if ((row && row.processed_at) || Date.now() > deadline) return row ?? null
      await sleep(50)
    }
  }

  return {
    async run (schoolId: string, o: { direction: WebhookDirection, deviceId?: string, employeeNo?: string }) {
      const school = await db.school.findFirst({ where: { id: schoolId, deletedAt: null }, select: { timezone: true } })
      if (!school) throw notFound('School')
      const device = o.deviceId ? await db.device.findFirst({ where: { id: o.deviceId, schoolId, deletedAt: null } }) : null
      if (o.deviceId && !device) throw notFound('Device')
      const now = new Date(Math.floor(Date.now() / 1000) * 1000)
      const employeeNo = o.employeeNo ?? SAMPLE_EMPLOYEE_NO
      const before = await snapshot(schoolId, employeeNo, localDateOf(now, school.timezone))
      const nonce = `facegate webhook test ${randomBytes(6).toString('hex')}`
      const { body, contentType } = samplePushBody({
        macAddress: device?.macAddress?.toLowerCase() ?? SAMPLE_MAC,
        ipAddress: device?.host ?? '192.0.2.1',
        shortSerialNumber: device ? device.serialNumber?.slice(-9) : undefined,
        employeeNo,
        name: nonce,
        dateTime: formatDeviceDateTime(now, utcOffsetMinutes(school.timezone, now)),
      })
      const secret = (await secrets.current(schoolId)).find((d) => d.direction === o.direction)?.secret as string
      // The processor reloads its device list for a sender it cannot place at most once a second; a
      // terminal registered or connection-tested a moment ago must be known to it now.
      processor.invalidate(schoolId)
      const startedAt = new Date(Date.now() - 1000)
      const answer = await post(webhookPath(schoolId, o.direction, secret), body, contentType)
      const accepted = answer.statusCode === 200
      const inbox = accepted ? await waitForInbox(schoolId, nonce, startedAt) : null
      const events = inbox ? await db.attendanceEvent.findMany({ where: { inboxId: inbox.id } }) : []
      const event = events[0] ?? null
      const matchedDevice = event?.deviceId ? await db.device.findUnique({ where: { id: event.deviceId }, select: { id: true, name: true } }) : null
      const report = {
        delivery: answer.via,
        url: webhookPath(schoolId, o.direction, '***'),
        statusCode: answer.statusCode,
        accepted,
        response: accepted ? null : safeJson(answer.body),
        processed: !!inbox?.processed_at,
        processingError: inbox?.error_code ? { code: inbox.error_code, message: inbox.error_message } : null,
        event: event && {
          stored: true as const, kind: event.kind, direction: event.direction, occurredAt: event.occurredAt.toISOString(), countsForAttendance: event.countsForAttendance,
        },
        device: { matched: !!matchedDevice, id: matchedDevice?.id ?? null, name: matchedDevice?.name ?? null },
        student: { employeeNo, matched: !!event?.studentId, id: event?.studentId ?? null },
        removed: false,
      }
      if (inbox) {
        await db.attendanceEvent.deleteMany({ where: { inboxId: inbox.id } })
        await db.eventInbox.delete({ where: { id: inbox.id } })
        if (event) await restore(event, before, startedAt, school.timezone)
        report.removed = true
      }
      return report
    },
  }

  async function restore (
    event: { schoolId: string, studentId: string | null, deviceId: string | null, occurredAt: Date, countsForAttendance: boolean },
    before: Awaited<ReturnType<typeof snapshot>>, startedAt: Date, timezone: string
  ) {
    const prev = before.devices.find((d) => d.id === event.deviceId)
    if (prev) {
      await db.device.updateMany({ where: { id: prev.id, lastEventAt: event.occurredAt }, data: { lastEventAt: prev.lastEventAt } })
      await db.device.updateMany({ where: { id: prev.id, lastSeenAt: { gte: startedAt } }, data: { lastSeenAt: prev.lastSeenAt } })
    }
    if (!event.studentId || !event.countsForAttendance) return
    const date = localDateOf(event.occurredAt, timezone)
    // Other scans that day: their summary stands. None: the day goes back to what it was before the test.
    if (await recomputeDays(db, [{ schoolId: event.schoolId, studentId: event.studentId, date }], repeatScanSeconds) > 0) return
    const key = { studentId_date: { studentId: event.studentId, date: new Date(`${date}T00:00:00Z`) } }
    if (before.day) {
      const { updatedAt: _u, ...data } = before.day
      await db.dailyAttendance.upsert({ where: key, create: data, update: data })
    } else await db.dailyAttendance.deleteMany({ where: { studentId: event.studentId, date: key.studentId_date.date } })
  }
}

function safeJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text.slice(0, 500)
  }
}

export type WebhookSelfTest = ReturnType<typeof createWebhookSelfTest>
