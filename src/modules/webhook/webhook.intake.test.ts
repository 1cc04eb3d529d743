import { get } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { until } from '../../../test/helpers/until.js'
import { addDevice, faceJpeg, seedClient, seedUsers, startTerminal } from '../../../test/helpers/terminals.js'

const pushBody = (serialNo: number, employeeNo = '1001', time = '2026-09-01T07:55:00+05:00', macAddress = 'aa:bb:cc:dd:ee:ff') => JSON.stringify({
  ipAddress: '10.9.9.9', macAddress, dateTime: time, eventType: 'AccessControllerEvent', eventState: 'active',
  AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: employeeNo, serialNo, currentVerifyMode: 'face' },
})

describe('webhook intake', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>
  let secrets: { in: string, out: string }
  let port: number

  beforeAll(async () => {
    app = await buildTestApp()
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as { port: number }).port
    school = await createSchool(app, { timezone: 'Asia/Tashkent' })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/webhook-info`, headers: admin })
    const dirs = info.json().directions as Array<{ direction: 'in' | 'out', secret: string, url: string }>
    secrets = { in: dirs.find((d) => d.direction === 'in')!.secret, out: dirs.find((d) => d.direction === 'out')!.secret }
    expect(dirs[0].url).toContain(`/webhook/${school.id}/`)
  })

  const post = (body: string | Buffer, path = `/webhook/${school.id}/in/${secrets.in}`, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': contentType } })

  it('takes a face pass pushed by a simulated terminal, identifies the device by MAC and the student, and makes attendance', async () => {
    const klass = await createClass(app, school.id, { startTime: '08:00' })
    const student = await createStudent(app, school.id, { employeeNo: '2001', classId: klass.id })
    const terminal = await startTerminal({ index: 60, timeZone: 'CST-5:00:00' })
    const device = await addDevice(app, admin, school.id, terminal)
    await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${device.id}/test-connection`, headers: admin })
    const seed = await seedUsers(terminal, ['2001'])
    await seed.addFace('2001', { image: await faceJpeg() })
    await seedClient(terminal).setHttpHost('1', { url: `/webhook/${school.id}/in/${secrets.in}`, ipAddress: '127.0.0.1', portNo: port, protocolType: 'HTTP', parameterFormatType: 'JSON', addressingFormatType: 'ipaddress' })

    const outcome = await terminal.recordFaceEvent({ employeeNo: '2001', time: '2026-09-01T03:05:00Z' })
    expect(outcome.recognised).toBe(true)
    const events = await until(() => app.prisma.attendanceEvent.findMany({ where: { schoolId: school.id, employeeNo: '2001' } }), (r) => r.length > 0)
    expect(events).toMatchObject([{ deviceId: device.id, studentId: student.id, direction: 'in', kind: 'face_pass', countsForAttendance: true, major: 5, minor: 75 }])
    expect(events[0].occurredAt.toISOString()).toBe('2026-09-01T03:05:00.000Z')

    const day = await until(() => app.prisma.dailyAttendance.findFirst({ where: { studentId: student.id } }), (d) => d !== null)
    // 08:05 local in Tashkent, class at 08:00, 15 minutes threshold → present, not late.
    expect(day).toMatchObject({ status: 'PRESENT', scanCount: 1, inSchool: true, lateMinutes: 0 })
    const listed = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/events?matched=true`, headers: admin })
    expect(listed.json()).toMatchObject({ total: 1, items: [{ employeeNo: '2001', matched: true, kind: 'face_pass' }] })
  })

  it('deduplicates the same serial posted concurrently, and keeps unknown senders and persons as unmatched', async () => {
    const sentAt = new Date()
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(pushBody(500, '9999'))))
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200))
    const rows = await until(() => app.prisma.attendanceEvent.findMany({ where: { schoolId: school.id, serialNo: 500 } }), (r) => r.length > 0)
    await sleep(300)
    expect(await app.prisma.attendanceEvent.count({ where: { schoolId: school.id, serialNo: 500 } })).toBe(1)
    // Copies processed in one batch count once there too.
    const made = await app.prisma.eventInbox.aggregate({ _sum: { eventCount: true }, where: { schoolId: school.id, receivedAt: { gte: sentAt } } })
    expect(made._sum.eventCount).toBe(1)
    expect(rows[0]).toMatchObject({ studentId: null, employeeNo: '9999' })
    expect(await app.prisma.eventInbox.count({ where: { schoolId: school.id } })).toBeGreaterThanOrEqual(8)

    // A school without devices: the sender is unknown, kept by its MAC.
    const other = await createSchool(app)
    const otherAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', other.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${other.id}/webhook-info`, headers: otherAdmin })
    const inSecret = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
    expect((await post(pushBody(7), `/webhook/${other.id}/in/${inSecret}`)).statusCode).toBe(200)
    const unknown = await until(() => app.prisma.attendanceEvent.findMany({ where: { schoolId: other.id } }), (r) => r.length > 0)
    expect(unknown).toMatchObject([{ deviceId: null, studentId: null, senderKey: 'sender:aa:bb:cc:dd:ee:ff', serialNo: 7 }])
  })

  it('recognises a terminal registered after its first pushes arrived', async () => {
    const late = await createSchool(app)
    const lateAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', late.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${late.id}/webhook-info`, headers: lateAdmin })
    const inSecret = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
    const push = (serial: number) => post(pushBody(serial, '1', '2026-09-01T07:55:00+05:00'), `/webhook/${late.id}/in/${inSecret}`)
    await push(1)
    await app.eventProcessor.kick()
    const created = await app.inject({ method: 'POST', url: `/api/v1/schools/${late.id}/devices`, headers: lateAdmin, payload: { name: 'New gate', direction: 'in', host: '10.1.1.1', port: 80 } })
    await app.prisma.device.update({ where: { id: created.json().id }, data: { macAddress: 'aa:bb:cc:dd:ee:ff' } })
    await sleep(1100)
    await push(2)
    await app.eventProcessor.kick()
    const rows = await app.prisma.attendanceEvent.findMany({ where: { schoolId: late.id }, orderBy: { serialNo: 'asc' } })
    expect(rows.map((r) => r.deviceId)).toEqual([null, created.json().id])
  })

  it('books earlier unmatched pushes to a terminal once its connection test tells who it is, so replays stay one event', async () => {
    const school2 = await createSchool(app, { timezone: 'Asia/Tashkent' })
    const admin2 = (await signedInAs(app, 'SCHOOL_ADMIN', school2.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${school2.id}/webhook-info`, headers: admin2 })
    const inSecret = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
    const terminal = await startTerminal({ index: 88, macAddress: 'DE:AD:BE:EF:00:60' })
    const push = async (serial: number) => {
      await post(pushBody(serial, '1', '2026-09-01T07:55:00+05:00', 'de:ad:be:ef:00:60'), `/webhook/${school2.id}/in/${inSecret}`)
      await app.eventProcessor.kick()
    }
    const rows = () => app.prisma.attendanceEvent.findMany({ where: { schoolId: school2.id }, orderBy: [{ serialNo: 'asc' }, { id: 'asc' }], select: { serialNo: true, deviceId: true, senderKey: true, dedupeKey: true } })
    await push(1)
    // A push without a MAC names the terminal by its short serial.
    const { macAddress: _mac, ...withoutMac } = JSON.parse(pushBody(3, '1', '2026-09-01T07:56:00+05:00')) as Record<string, unknown>
    await post(JSON.stringify({ ...withoutMac, shortSerialNumber: 'FG0000089' }), `/webhook/${school2.id}/in/${inSecret}`)
    await app.eventProcessor.kick()
    // Serial 1 again, named by the short serial this time: another sender key, so another unmatched row.
    const { macAddress: _sameMac, ...firstWithoutMac } = JSON.parse(pushBody(1, '1', '2026-09-01T07:55:00+05:00')) as Record<string, unknown>
    await post(JSON.stringify({ ...firstWithoutMac, shortSerialNumber: 'FG0000089' }), `/webhook/${school2.id}/in/${inSecret}`)
    await app.eventProcessor.kick()
    expect(await rows()).toMatchObject([
      { serialNo: 1, deviceId: null, senderKey: 'sender:de:ad:be:ef:00:60' }, { serialNo: 1, deviceId: null, senderKey: 'sender:FG0000089' },
      { serialNo: 3, deviceId: null, senderKey: 'sender:FG0000089' },
    ])

    const device = await addDevice(app, admin2, school2.id, terminal)
    const tested = await app.inject({ method: 'POST', url: `/api/v1/schools/${school2.id}/devices/${device.id}/test-connection`, headers: admin2 })
    expect(tested.statusCode, tested.body).toBe(200)
    const booked = await rows()
    // One of the two copies of serial 1 is booked; the other keeps its sender key (a duplicate, left as it was).
    expect(booked.map((r) => [r.serialNo, r.deviceId])).toEqual([[1, device.id], [1, null], [3, device.id]])
    expect(booked.filter((r) => r.deviceId).map((r) => r.dedupeKey.split(':').slice(0, 3).join(':'))).toEqual([`device:${device.id}:1`, `device:${device.id}:3`])

    await sleep(1100) // the processor's device list is refreshed at most once a second
    await push(1) // the terminal re-sends it, now recognised by its MAC
    await push(2)
    expect((await rows()).map((r) => [r.serialNo, r.deviceId])).toEqual([[1, device.id], [1, null], [2, device.id], [3, device.id]])
  })

  it('tells apart a terminal registered since the last push that shares an address with a known one', async () => {
    const shared = await createSchool(app)
    const sharedAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', shared.id)).headers
    const info = await app.inject({ method: 'GET', url: `/api/v1/schools/${shared.id}/webhook-info`, headers: sharedAdmin })
    const inSecret = info.json().directions.find((d: { direction: string }) => d.direction === 'in').secret
    const addGate = async (name: string, port: number) => (await app.inject({
      method: 'POST', url: `/api/v1/schools/${shared.id}/devices`, headers: sharedAdmin, payload: { name, direction: 'in', host: '10.9.9.9', port },
    })).json().id as string
    const push = async (serial: number, mac?: string) => {
      await post(pushBody(serial, '1', '2026-09-01T07:55:00+05:00', mac), `/webhook/${shared.id}/in/${inSecret}`)
      await app.eventProcessor.kick()
    }
    const first = await addGate('Gate behind NAT 1', 8001)
    await push(1)
    // Its connection test would store the MAC the pushes carry.
    const second = await addGate('Gate behind NAT 2', 8002)
    await app.prisma.device.update({ where: { id: second }, data: { macAddress: 'aa:bb:cc:dd:ee:ff' } })
    await sleep(1100)
    await push(2)
    // The first gate (no MAC stored) pushing its own MAC: the second gate's MAC rules that one out.
    await push(3, '11:22:33:44:55:66')
    // A third gate without a MAC at the same address: an unknown MAC there could be either, so neither is guessed.
    await addGate('Gate behind NAT 3', 8003)
    await sleep(1100)
    await push(4, '77:88:99:aa:bb:cc')
    const rows = await app.prisma.attendanceEvent.findMany({ where: { schoolId: shared.id }, orderBy: { serialNo: 'asc' } })
    expect(rows.map((r) => [r.serialNo, r.deviceId, r.senderKey])).toEqual([
      [1, first, null], [2, second, null], [3, first, null], [4, null, 'sender:77:88:99:aa:bb:cc'],
    ])
  })

  it('refuses a wrong or missing secret, a wrong direction, and malformed bodies with stable codes, keeping nothing', async () => {
    const before = await app.prisma.eventInbox.count()
    expectProblem(await post(pushBody(1), `/webhook/${school.id}/in/wrong-secret`), 401, 'WEBHOOK_SECRET_INVALID')
    expectProblem(await post(pushBody(1), `/webhook/${school.id}/in`), 401, 'WEBHOOK_SECRET_INVALID')
    expectProblem(await post(pushBody(1), `/webhook/${school.id}/out/${secrets.in}`), 401, 'WEBHOOK_SECRET_INVALID')
    expectProblem(await post('{"eventType":', `/webhook/${school.id}/in?secret=${secrets.in}`), 400, 'WEBHOOK_BODY_INVALID')
    expectProblem(await post('--MIME_boundary\r\nContent-Type: application/json\r\n\r\n{"eventType":"x"', undefined, 'multipart/form-data; boundary=MIME_boundary'), 400, 'WEBHOOK_BODY_INVALID')
    expectProblem(await post(Buffer.alloc(10 * 1024 * 1024, 0x20)), 400, 'WEBHOOK_BODY_TOO_LARGE')
    expectProblem(await post(pushBody(1), `/webhook/${school.id}/in/wrong-secret`), 401, 'WEBHOOK_SECRET_INVALID')
    expect(await app.prisma.eventInbox.count()).toBe(before)
    expect((await post(pushBody(2), `/webhook/${school.id}/in?secret=${secrets.in}`)).statusCode).toBe(200)
  })

  it('rotates secrets with a grace period for the previous one', async () => {
    const old = secrets.out
    const rotated = await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/webhook/rotate`, headers: admin, payload: { directions: ['out'], graceMinutes: 10 } })
    const next = rotated.json().directions.find((d: { direction: string }) => d.direction === 'out')
    expect(next.secret).not.toBe(old)
    expect(next.previousValidUntil).not.toBeNull()
    expect((await post(pushBody(3), `/webhook/${school.id}/out/${old}`)).statusCode).toBe(200)
    expect((await post(pushBody(4), `/webhook/${school.id}/out/${next.secret}`)).statusCode).toBe(200)
    await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/webhook/rotate`, headers: admin, payload: { directions: ['out'], graceMinutes: 0 } })
    expectProblem(await post(pushBody(5), `/webhook/${school.id}/out/${next.secret}`), 401, 'WEBHOOK_SECRET_INVALID')
  })

  it('streams new events live to an EventSource holding a stream token (no header), and refuses an access token in the query', async () => {
    const { token } = (await app.inject({ method: 'POST', url: '/api/v1/auth/stream-token', headers: admin })).json()
    const accessToken = admin.authorization.slice('Bearer '.length)
    const refused = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/events/stream?token=${accessToken}` })
    expectProblem(refused, 401, 'UNAUTHORIZED')

    const received = await new Promise<string>((resolve, reject) => {
      const req = get(`http://127.0.0.1:${port}/api/v1/schools/${school.id}/events/stream?token=${token}`, (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream')
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString()
          if (text.includes(': connected')) post(pushBody(777, '4242')).catch(reject)
          if (text.includes('"employeeNo":"4242"')) {
            req.destroy()
            resolve(text)
          }
        })
      })
      req.on('error', () => {})
      setTimeout(() => { req.destroy(); reject(new Error('no event within 8 s')) }, 8000).unref()
    })
    const data = JSON.parse(/event: event\ndata: (.*"employeeNo":"4242".*)\n/.exec(received)![1])
    expect(data).toMatchObject({ employeeNo: '4242', kind: 'face_pass', matched: false })
  })
})
