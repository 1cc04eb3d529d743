import { beforeAll, describe, expect, it } from 'vitest'
import { listeningTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { addDevice, connectedTerminal, seedClient, startTerminal } from '../../../test/helpers/terminals.js'
import { until } from '../../../test/helpers/until.js'
import type { SimulatedTerminal } from '../../simulator/index.js'

describe('push set-up, push status and the webhook self-test', () => {
  let app: TestApp
  let port: number
  let school: { id: string }
  let admin: Record<string, string>
  let secretIn: string

  const url = (deviceId: string, tail: string) => `/api/v1/schools/${school.id}/devices/${deviceId}/${tail}`
  const configure = (deviceId: string, payload: Record<string, unknown> = {}, headers = admin) =>
    app.inject({ method: 'POST', url: url(deviceId, 'configure-push'), headers, payload })
  const status = (deviceId: string, headers = admin) => app.inject({ method: 'GET', url: url(deviceId, 'push-status'), headers })

  const connected = (index: number, employeeNos: string[] = []) =>
    connectedTerminal(app, admin, school.id, { index, timeZone: 'CST-5:00:00' }, employeeNos)

  beforeAll(async () => {
    ;({ app, port } = await listeningTestApp({ ATTENDANCE_BACKFILL_MINUTES: '0' }))
    school = await createSchool(app, { timezone: 'Asia/Tashkent' })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/webhook-info`, headers: admin })
    secretIn = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
  })

  describe('on a terminal whose first slot belongs to another system', () => {
    let terminal: SimulatedTerminal
    let device: { id: string }
    let student: { id: string }

    beforeAll(async () => {
      const klass = await createClass(app, school.id, { startTime: '08:00' })
      student = await createStudent(app, school.id, { employeeNo: '6001', classId: klass.id })
      ;({ terminal, device } = await connected(80, ['6001']))
      await seedClient(terminal).setHttpHost('1', {
        url: '/other-vendor/events', ipAddress: '127.0.0.1', portNo: 9, protocolType: 'HTTP', parameterFormatType: 'XML', addressingFormatType: 'ipaddress',
      })
    })

    it('refuses to take a used slot or the EHome slot unasked, then writes the named slot only, and a face pass arrives through it', async () => {
      const refused = expectProblem(await configure(device.id), 409, 'PUSH_SLOT_UNAVAILABLE')
      expect(refused.slots.map((s: { id: string }) => s.id)).toEqual(['1', '2'])
      expect((await status(device.id)).json()).toMatchObject({ matches: false, matchedSlotId: null })

      const res = await configure(device.id, { slotId: '2' })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ slotId: '2', direction: 'in', url: `/webhook/${school.id}/in/***`, matches: true, slot: { id: '2', ours: true, matches: true } })
      expect(res.body).not.toContain(secretIn)

      const slots = terminal.snapshot().httpHosts
      expect(slots.find((s) => s.id === '1')).toMatchObject({ url: '/other-vendor/events', portNo: 9, parameterFormatType: 'XML' })
      expect(slots.find((s) => s.id === '2')).toMatchObject({
        url: `/webhook/${school.id}/in/${secretIn}`, ipAddress: '127.0.0.1', portNo: port, protocolType: 'HTTP', parameterFormatType: 'JSON',
      })

      await terminal.recordFaceEvent({ employeeNo: '6001', time: '2026-11-16T02:58:00Z' })
      const events = await until(() => app.prisma.attendanceEvent.findMany({ where: { deviceId: device.id } }), (r) => r.length > 0)
      expect(events).toMatchObject([{ studentId: student.id, source: 'push', kind: 'face_pass', direction: 'in' }])

      const st = await status(device.id)
      expect(st.statusCode, st.body).toBe(200)
      expect(st.json()).toMatchObject({
        direction: 'in', expectedHost: '127.0.0.1', expectedPort: port, matches: true, matchedSlotId: '2', lastEventAt: '2026-11-16T02:58:00.000Z',
        slots: [{ id: '1', ours: false, matches: false, secretValid: null }, { id: '2', ours: true, matches: true, secretValid: true, url: `/webhook/${school.id}/in/***` }],
      })
      expect(st.body).not.toContain(secretIn)

      const audit = await app.prisma.auditLog.findMany({ where: { entityId: device.id, action: 'configure_push' } })
      expect(audit).toHaveLength(1)
      expect(JSON.stringify(audit[0].changes)).not.toContain(secretIn)
      expect(audit[0].changes).toMatchObject({ ok: { after: true }, url: { before: null, after: `/webhook/${school.id}/in/***` }, portNo: { before: 0, after: port } })
    })
  })

  it('reports a slot left with a rotated secret as ours but stale, and configure-push rewrites that same slot', async () => {
    const { terminal, device } = await connected(81)
    expect((await configure(device.id)).json()).toMatchObject({ slotId: '1', matches: true })
    await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/webhook/rotate`, headers: admin, payload: { directions: ['in'], graceMinutes: 30 } })

    expect((await status(device.id)).json()).toMatchObject({ matches: false, slots: [{ id: '1', ours: true, secretValid: true, matches: false }, { id: '2', ours: false }] })
    expect((await configure(device.id)).json()).toMatchObject({ slotId: '1', matches: true })
    expect(terminal.snapshot().httpHosts.find((s) => s.id === '2')).toMatchObject({ protocolType: 'EHome', ipAddress: '0.0.0.0' })
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/webhook-info`, headers: admin })
    secretIn = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
    expect(terminal.snapshot().httpHosts.find((s) => s.id === '1')?.url).toBe(`/webhook/${school.id}/in/${secretIn}`)
  })

  it('points a two-way terminal at the in URL, and checks roles, unknown devices and unreachable terminals', async () => {
    const terminal = await startTerminal({ index: 82 })
    const both = await addDevice(app, admin, school.id, terminal, { direction: 'both' })
    expect((await configure(both.id)).json()).toMatchObject({ direction: 'in', slotId: '1' })

    const guard = (await signedInAs(app, 'GUARD', school.id)).headers
    expectProblem(await configure(both.id, {}, guard), 403, 'FORBIDDEN')
    expectProblem(await status(both.id, guard), 403, 'FORBIDDEN')
    expectProblem(await configure('00000000-0000-4000-8000-000000000000'), 404, 'DEVICE_NOT_FOUND')
    expectProblem(await configure(both.id, { slotId: '7' }), 422, 'PUSH_SLOT_NOT_FOUND')
    expectProblem(await configure(both.id, { slotId: 'one' }), 400, 'VALIDATION_FAILED')

    await terminal.close()
    const down = await configure(both.id)
    expect(down.json().code).toBe('DEVICE_UNREACHABLE')
    expect((await app.prisma.auditLog.findMany({ where: { entityId: both.id, action: 'configure_push' }, orderBy: { createdAt: 'asc' } })).at(-1)?.changes)
      .toMatchObject({ ok: { after: false }, error: { after: 'DEVICE_UNREACHABLE' } })
  })

  describe('POST /webhook/test', () => {
    const selfTest = (payload: Record<string, unknown> = {}, headers = admin) =>
      app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/webhook/test`, headers, payload })

    it('posts a sample through the listening server, reports what became of it, and leaves nothing behind', async () => {
      const before = await app.prisma.attendanceEvent.count({ where: { schoolId: school.id } })
      const inboxBefore = await app.prisma.eventInbox.count({ where: { schoolId: school.id } })
      const res = await selfTest()
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({
        delivery: 'http', url: `/webhook/${school.id}/in/***`, statusCode: 200, accepted: true, processed: true, processingError: null,
        event: { stored: true, kind: 'face_pass', direction: 'in', countsForAttendance: true },
        student: { employeeNo: 'webhook-test', matched: false, id: null }, removed: true,
      })
      expect(res.body).not.toContain(secretIn)
      expect(await app.prisma.attendanceEvent.count({ where: { schoolId: school.id } })).toBe(before)
      expect(await app.prisma.eventInbox.count({ where: { schoolId: school.id } })).toBe(inboxBefore)
    })

    it('sent as a terminal with a student\'s number, it is matched to both, and neither the day nor the device health keeps a trace', async () => {
      const student = await createStudent(app, school.id, { employeeNo: '6101' })
      const { device } = await connected(83)
      const health = () => app.prisma.device.findUniqueOrThrow({ where: { id: device.id }, select: { lastEventAt: true, lastEventSerialNo: true } })
      const deviceBefore = await health()

      const res = await selfTest({ direction: 'out', deviceId: device.id, employeeNo: '6101' })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({
        accepted: true, processed: true, event: { direction: 'out', countsForAttendance: true },
        device: { matched: true, id: device.id }, student: { matched: true, id: student.id }, removed: true,
      })
      expect(await app.prisma.attendanceEvent.count({ where: { studentId: student.id } })).toBe(0)
      expect(await app.prisma.dailyAttendance.count({ where: { studentId: student.id } })).toBe(0)
      expect(await health()).toEqual(deviceBefore)
    })

    it('is for school admins only, and a named device must be the school\'s', async () => {
      const operator = (await signedInAs(app, 'OPERATOR', school.id)).headers
      expectProblem(await selfTest({}, operator), 403, 'FORBIDDEN')
      expectProblem(await selfTest({ deviceId: '00000000-0000-4000-8000-000000000000' }), 404, 'DEVICE_NOT_FOUND')
      expectProblem(await selfTest({ direction: 'sideways' }), 400, 'VALIDATION_FAILED')
    })
  })
})
