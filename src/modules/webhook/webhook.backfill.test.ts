import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, listeningTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { addDevice, connectedTerminal, seedClient, startTerminal } from '../../../test/helpers/terminals.js'
import { freePort, until } from '../../../test/helpers/until.js'
import type { SimulatedTerminal } from '../../simulator/index.js'
import { advanceWatermark, serialDedupeKey } from './webhook.processor.js'

const day = (studentId: string, date: string) => ({ studentId_date: { studentId, date: new Date(`${date}T00:00:00Z`) } })

describe('advanceWatermark', () => {
  it('moves over events that follow on, stops at a jump, and ignores events it already covers', () => {
    expect(advanceWatermark(5, [{ serialNo: 6, frontSerialNo: 5 }, { serialNo: 7, frontSerialNo: 6 }])).toMatchObject({ watermark: 7, gap: false })
    expect(advanceWatermark(5, [{ serialNo: 9, frontSerialNo: 8 }])).toMatchObject({ watermark: 5, gap: true })
    expect(advanceWatermark(5, [{ serialNo: 6, frontSerialNo: 5 }, { serialNo: 9, frontSerialNo: 8 }])).toMatchObject({ watermark: 6, gap: true })
    expect(advanceWatermark(5, [{ serialNo: 3, frontSerialNo: 2 }, { serialNo: null }])).toMatchObject({ watermark: 5, gap: false })
    // The first event ever seen, and models that do not send frontSerialNo, cannot show a gap.
    expect(advanceWatermark(null, [{ serialNo: 40, frontSerialNo: 39 }])).toMatchObject({ watermark: 40, gap: false })
    expect(advanceWatermark(5, [{ serialNo: 9, frontSerialNo: null }])).toMatchObject({ watermark: 9, gap: false })
  })

  it('starts over when the terminal\'s log was reset (a lower serial, newer than anything seen)', () => {
    const lastAt = new Date('2026-09-01T08:00:00Z')
    const old = { serialNo: 3, frontSerialNo: 2, occurredAt: new Date('2026-08-30T08:00:00Z') }
    expect(advanceWatermark(900, [old], lastAt)).toMatchObject({ watermark: 900, restarted: false })
    const fresh = [{ serialNo: 1, frontSerialNo: 0, occurredAt: new Date('2026-09-02T07:00:00Z') }, { serialNo: 2, frontSerialNo: 1, occurredAt: new Date('2026-09-02T07:01:00Z') }]
    expect(advanceWatermark(900, fresh, lastAt)).toMatchObject({ watermark: 2, restarted: true })
  })

  it('keeps a reset terminal\'s new serial 1 apart from the old serial 1', () => {
    const key = 'device:d1'
    expect(serialDedupeKey(key, 1, new Date('2026-01-01T00:00:00Z'))).not.toBe(serialDedupeKey(key, 1, new Date('2026-09-02T07:00:00Z')))
    expect(serialDedupeKey(key, 1, new Date('2026-09-02T07:00:00.000Z'))).toBe(serialDedupeKey(key, 1, new Date('2026-09-02T07:00:00.900Z')))
  })
})

describe('back-fill from a pushing terminal', () => {
  let app: TestApp
  let port: number
  let school: { id: string }
  let admin: Record<string, string>
  let terminal: SimulatedTerminal
  let device: { id: string }
  let ali: { id: string }
  let bona: { id: string }

  const events = () => app.prisma.attendanceEvent.findMany({ where: { deviceId: device.id }, orderBy: { serialNo: 'asc' } })
  const backfill = (headers = admin, id = device.id) => app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${id}/backfill`, headers })
  const pushTo = (portNo: number) => seedClient(terminal).setHttpHost('1', { portNo })
  const watermark = async () => (await app.prisma.device.findUniqueOrThrow({ where: { id: device.id } })).lastEventSerialNo

  beforeAll(async () => {
    ;({ app, port } = await listeningTestApp({ ATTENDANCE_BACKFILL_MINUTES: '0' }))
    school = await createSchool(app, { timezone: 'Asia/Tashkent' })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    const klass = await createClass(app, school.id, { startTime: '08:00' })
    ali = await createStudent(app, school.id, { employeeNo: '3001', classId: klass.id })
    bona = await createStudent(app, school.id, { employeeNo: '3002', classId: klass.id })
    ;({ terminal, device } = await connectedTerminal(app, admin, school.id, { index: 71, timeZone: 'CST-5:00:00' }, ['3001', '3002']))
    const configured = await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${device.id}/configure-push`, headers: admin, payload: {} })
    expect(configured.json()).toMatchObject({ slotId: '1', matches: true })
  })

  it('back-fills what the terminal recorded while the webhook was unreachable, once, and the days come out right', async () => {
    const pushed = (await terminal.recordFaceEvent({ employeeNo: '3001', time: '2026-11-16T02:55:00Z' })).event
    await until(events, (r) => r.length === 1)
    expect(await watermark()).toBe(pushed.serialNo)

    await pushTo(await freePort())
    const missed = [
      (await terminal.recordFaceEvent({ employeeNo: '3002', time: '2026-11-16T03:20:00Z' })).event,
      (await terminal.recordFaceEvent({ employeeNo: '3001', time: '2026-11-16T10:00:00Z' })).event,
      (await terminal.recordFaceEvent({ employeeNo: '3002', time: '2026-11-16T10:30:00Z' })).event,
    ]
    await sleep(300)
    expect(await events()).toHaveLength(1)

    const res = await backfill()
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      status: 'done', mode: 'serial', fromSerial: pushed.serialNo, toSerial: missed[2].serialNo, found: 3, inserted: 3, errorCode: null,
    })
    const rows = await events()
    expect(rows.map((r) => [r.serialNo, r.source, r.studentId, r.kind, r.direction])).toEqual([
      [pushed.serialNo, 'push', ali.id, 'face_pass', 'in'],
      [missed[0].serialNo, 'backfill', bona.id, 'face_pass', 'in'],
      [missed[1].serialNo, 'backfill', ali.id, 'face_pass', 'in'],
      [missed[2].serialNo, 'backfill', bona.id, 'face_pass', 'in'],
    ])
    expect(rows[1].occurredAt.toISOString()).toBe('2026-11-16T03:20:00.000Z')
    expect(rows[1].dedupeKey).toBe(`device:${device.id}:${missed[0].serialNo}:${Date.parse('2026-11-16T03:20:00Z') / 1000}`)
    expect(await watermark()).toBe(missed[2].serialNo)

    // 07:55 and 15:00 in Tashkent: present; 08:20 against an 08:00 start and a 15-minute threshold: 20 minutes late.
    expect(await app.prisma.dailyAttendance.findUnique({ where: day(ali.id, '2026-11-16') }))
      .toMatchObject({ status: 'PRESENT', scanCount: 2, firstInAt: new Date('2026-11-16T02:55:00Z'), lateMinutes: 0 })
    expect(await app.prisma.dailyAttendance.findUnique({ where: day(bona.id, '2026-11-16') }))
      .toMatchObject({ status: 'LATE', scanCount: 2, firstInAt: new Date('2026-11-16T03:20:00Z'), lateMinutes: 20 })

    expect((await backfill()).json()).toMatchObject({ status: 'done', fromSerial: missed[2].serialNo, found: 0, inserted: 0 })
    expect(await events()).toHaveLength(4)
  })

  it('never duplicates pushed or already back-filled events, even when the whole log is read again', async () => {
    await pushTo(port)
    const live = (await terminal.recordFaceEvent({ employeeNo: '3001', time: '2026-11-16T10:45:00Z' })).event
    await until(events, (r) => r.length === 5)
    expect(await watermark()).toBe(live.serialNo)

    await app.prisma.device.update({ where: { id: device.id }, data: { lastEventSerialNo: 0 } })
    // Everything from serial 1: only the power-on event (recorded before push was set up) is new.
    expect((await backfill()).json()).toMatchObject({ status: 'done', fromSerial: 0, toSerial: live.serialNo, found: live.serialNo, inserted: 1 })
    const rows = await events()
    expect(rows.map((r) => r.serialNo)).toEqual(Array.from({ length: live.serialNo }, (_, i) => i + 1))
    expect(rows[0]).toMatchObject({ serialNo: 1, major: 2, minor: 1024, kind: 'exception', countsForAttendance: false, source: 'backfill' })
    expect(await app.prisma.dailyAttendance.findUnique({ where: day(ali.id, '2026-11-16') })).toMatchObject({ scanCount: 3 })
  })

  it('detects a gap from frontSerialNo in a push and back-fills it on its own', async () => {
    const before = await watermark()
    await pushTo(await freePort())
    const lost = (await terminal.recordFaceEvent({ employeeNo: '3002', time: '2026-11-17T02:50:00Z' })).event
    await pushTo(port)
    const next = (await terminal.recordFaceEvent({ employeeNo: '3002', time: '2026-11-17T03:00:00Z' })).event
    expect(next.frontSerialNo).toBe(lost.serialNo)

    const rows = await until(
      () => app.prisma.attendanceEvent.findMany({ where: { deviceId: device.id, serialNo: { gt: before ?? 0 } }, orderBy: { serialNo: 'asc' } }),
      (r) => r.length === 2)
    expect(rows.map((r) => [r.serialNo, r.source])).toEqual([[lost.serialNo, 'backfill'], [next.serialNo, 'push']])
    const run = await until(() => app.prisma.deviceBackfill.findFirst({ where: { deviceId: device.id, trigger: 'gap' } }), (r) => r !== null)
    expect(run).toMatchObject({ mode: 'serial', fromSerial: before, toSerial: next.serialNo, found: 2, inserted: 1, errorCode: null })
    expect(await until(watermark, (w) => w === next.serialNo)).toBe(next.serialNo)
    expect(await app.prisma.dailyAttendance.findUnique({ where: day(bona.id, '2026-11-17') }))
      .toMatchObject({ status: 'PRESENT', scanCount: 2, firstInAt: new Date('2026-11-17T02:50:00Z') })
  })

  it('reports per-device health: last event, watermark, and the back-fill runs with the gaps they filled', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/devices/${device.id}/health`, headers: admin })
    expect(res.statusCode, res.body).toBe(200)
    const health = res.json()
    expect(Object.keys(health).sort()).toEqual(['deviceId', 'lastBackfill', 'lastErrorCode', 'lastEventAt', 'lastEventSerialNo', 'lastGapFilled', 'lastHeartbeatAt', 'lastSeenAt', 'recentBackfills'])
    expect(health).toMatchObject({
      deviceId: device.id, lastEventSerialNo: await watermark(),
      lastBackfill: { trigger: 'gap', inserted: 1 }, lastGapFilled: { trigger: 'gap', found: 2, inserted: 1 },
    })
    expect(health.recentBackfills.map((r: { trigger: string }) => r.trigger)).toEqual(['gap', 'manual', 'manual', 'manual'])
  })

  it('refuses guards and unknown devices, and answers 409 while another operation holds the device', async () => {
    const guard = (await signedInAs(app, 'GUARD', school.id)).headers
    expectProblem(await backfill(guard), 403, 'FORBIDDEN')
    expectProblem(await backfill(admin, '00000000-0000-4000-8000-000000000000'), 404, 'DEVICE_NOT_FOUND')
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${device.id}/backfill` }), 401, 'UNAUTHORIZED')
    const { createDeviceLocks } = await import('../../lib/device-locks.js')
    const locks = createDeviceLocks(app.config.DATABASE_URL, 1)
    const held = await locks.tryLock([device.id])
    try {
      expectProblem(await backfill(), 409, 'DEVICE_IN_USE')
    } finally {
      await held?.release()
      await locks.close()
    }
  })
})

describe('scheduled back-fill of every terminal', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>

  beforeAll(async () => {
    // Every 1.2 s, so the test sees scheduled runs.
    app = await buildTestApp({ ATTENDANCE_BACKFILL_MINUTES: '0.02' })
    school = await createSchool(app, { timezone: 'Asia/Tashkent' })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
  })

  it('fills each reachable terminal and records an unreachable one\'s fault on its own runs without stopping the others', async () => {
    const good = await startTerminal({ index: 72, timeZone: 'CST-5:00:00' })
    const dead = await startTerminal({ index: 73 })
    await dead.close()
    await good.recordFaceEvent({ employeeNo: '4040' })
    const goodDevice = await addDevice(app, admin, school.id, good)
    const deadDevice = await addDevice(app, admin, school.id, dead)

    const runs = (deviceId: string) => app.prisma.deviceBackfill.findMany({ where: { deviceId }, orderBy: { startedAt: 'asc' } })
    const goodRuns = await until(() => runs(goodDevice.id), (r) => r.length >= 2)
    // The first run had no serial to start from: a time window from before the device was registered.
    expect(goodRuns[0]).toMatchObject({ trigger: 'schedule', mode: 'time', fromSerial: null, toSerial: 2, found: 2, inserted: 2, errorCode: null })
    // Without capabilities (never connection-tested) every run is a time window; serials at or below ours are dropped here.
    expect(goodRuns[1]).toMatchObject({ mode: 'time', fromSerial: 2, found: 0, inserted: 0, errorCode: null })
    await good.recordFaceEvent({})
    const filled = await until(() => app.prisma.deviceBackfill.findFirst({ where: { deviceId: goodDevice.id, inserted: { gt: 0 }, fromSerial: 2 } }), (r) => r !== null)
    expect(filled).toMatchObject({ mode: 'time', toSerial: 3, found: 1, inserted: 1 })
    const deadRuns = await until(() => runs(deadDevice.id), (r) => r.length >= 1)
    expect(deadRuns[0]).toMatchObject({ trigger: 'schedule', found: 0, inserted: 0, errorCode: 'DEVICE_UNREACHABLE' })

    const events = await app.prisma.attendanceEvent.findMany({ where: { deviceId: goodDevice.id }, orderBy: { serialNo: 'asc' } })
    expect(events.map((e) => [e.serialNo, e.kind, e.employeeNo, e.studentId])).toEqual([[1, 'exception', null, null], [2, 'access_denied', null, null], [3, 'access_denied', null, null]])

    const health = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/devices/${deadDevice.id}/health`, headers: admin })
    expect(health.json()).toMatchObject({ lastBackfill: { errorCode: 'DEVICE_UNREACHABLE' }, lastGapFilled: null, lastErrorCode: 'DEVICE_UNREACHABLE' })
    // A scheduled run may hold the device for a moment (409); the manual run then reports the fault itself.
    const manual = await until(() => app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${deadDevice.id}/backfill`, headers: admin }), (r) => r.statusCode !== 409)
    expect(manual.json().code).toBe('DEVICE_UNREACHABLE')
    expect(manual.statusCode).toBeGreaterThanOrEqual(500)
  })

  it('runs the webhook self-test in-process when the server is not listening, leaving device health as it was', async () => {
    const devices = () => app.prisma.device.findMany({ where: { schoolId: school.id }, orderBy: { id: 'asc' }, select: { id: true, lastEventAt: true, lastEventSerialNo: true } })
    const before = await devices()
    const res = await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/webhook/test`, headers: admin, payload: {} })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ delivery: 'inject', accepted: true, processed: true, event: { kind: 'face_pass' }, removed: true })
    expect(await devices()).toEqual(before)
  })
})
