import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, signedInAs } from '../../../test/factories/index.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'
import { faceJpeg, nextTerminalIndex, schoolWithTerminals, startTerminal } from '../../../test/helpers/terminals.js'

type Headers = Record<string, string>

const app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error', SYNC_TRANSIENT_BACKOFF_MS: '20' })

async function setup (n: number, o: { offline?: boolean } = {}) {
  const { school, admin, terminals, offline } = await schoolWithTerminals(app, n, o)
  const provision = (payload: Record<string, unknown>, headers: Headers = admin) =>
    app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/students/provision`, headers, payload })
  const get = (id: string, path = '', headers: Headers = admin) => app.inject({ method: 'GET', url: `/api/v1/provisioning/${id}${path}`, headers })
  const post = (id: string, path: string, payload: Record<string, unknown>, headers: Headers = admin) =>
    app.inject({ method: 'POST', url: `/api/v1/provisioning/${id}${path}`, headers, payload })
  return { school, admin, terminals, offline, provision, get, post }
}

const face = async (seed: number) => (await faceJpeg(220, seed)).toString('base64')
const newStudent = (over: Record<string, unknown> = {}) => ({ firstName: 'Aziza', lastName: `Rahimova${randomUUID().slice(0, 4)}`, gender: 'FEMALE', ...over })

describe('POST /schools/:schoolId/students/provision', () => {
  it('creates the student with its face and writes it to every device; status, links and logs follow the job', async () => {
    const s = await setup(2)
    const res = await s.provision({ student: newStudent({ faceImageBase64: await face(1), parentPhone: '+998901112233' }), requestId: randomUUID() })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body).toMatchObject({
      studentId: body.student.id, provisioningId: expect.any(String), deviceStudentId: body.student.employeeNo, provisioningStatus: 'PROCESSING',
      student: { gender: 'female', parentPhone: '+998901112233', photoUrl: expect.stringMatching(/^\/uploads\/student-faces\//) },
    })
    expect(body.targetDevices.map((d: { id: string }) => d.id).sort()).toEqual(s.terminals.map((d) => d.id).sort())
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ type: 'provision', status: 'succeeded', counts: { success: 2 } })

    const status = (await s.get(body.provisioningId)).json()
    expect(status).toMatchObject({ id: body.provisioningId, status: 'CONFIRMED', jobStatus: 'succeeded', studentId: body.studentId, student: { id: body.studentId } })
    expect(status.devices).toHaveLength(2)
    for (const link of status.devices) {
      expect(link).toMatchObject({ status: 'SUCCESS', employeeNoOnDevice: body.deviceStudentId, attemptCount: 1, device: { name: expect.stringMatching(/^Gate /) } })
    }
    for (const { t } of s.terminals) {
      expect(t.snapshot().users.map((u) => u.employeeNo)).toEqual([body.deviceStudentId])
      expect(t.snapshot().faces.map((f) => f.FPID)).toEqual([body.deviceStudentId])
    }

    const logs = (await s.get(body.provisioningId, '/logs')).json()
    expect(logs.map((l: { stage: string }) => l.stage).sort()).toEqual(['DEVICE_SYNC', 'DEVICE_SYNC', 'PROVISIONING_START'])
    expect(logs.at(-1)).toMatchObject({ stage: 'PROVISIONING_START', level: 'INFO', message: 'Started for 2 device(s)', actorId: expect.any(String) })
  })

  it('is idempotent on requestId: a repeat answers 200 with the earlier provisioning and saves nothing new', async () => {
    const s = await setup(1)
    const requestId = randomUUID()
    const payload = { student: newStudent(), requestId }
    const first = await s.provision(payload)
    expect(first.statusCode, first.body).toBe(201)
    const again = await s.provision({ ...payload, student: newStudent({ firstName: 'Other' }) })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toMatchObject({ provisioningId: first.json().provisioningId, studentId: first.json().studentId })
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(1)
  })

  it('lets only one of concurrent starts with the same requestId create anything', async () => {
    const s = await setup(1)
    const payload = { student: newStudent(), requestId: randomUUID() }
    const answers = await Promise.all([s.provision(payload), s.provision(payload), s.provision(payload)])
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 200, 201])
    expect(new Set(answers.map((r) => r.json().provisioningId)).size).toBe(1)
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(1)
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(1)
  })

  it('takes the upstream shapes: top-level fields, name as "Last First", MALE, and replaces a 10-digit desktop id by a number of ours', async () => {
    const s = await setup(0)
    const res = await s.provision({ name: 'Qodirov Aziz Bek', gender: 'MALE', deviceStudentId: '4821930057', targetAllActive: true })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body.student).toMatchObject({ lastName: 'Qodirov', firstName: 'Aziz Bek', gender: 'male' })
    expect(body.deviceStudentId).toMatch(/^[1-9]\d{0,8}$/)
    expect(body.deviceStudentId).not.toBe('4821930057')
    // No devices: nothing to do, confirmed at once.
    expect(body).toMatchObject({ provisioningStatus: 'CONFIRMED', targetDevices: [] })

    // A usable deviceStudentId is kept, and a later provisioning with it updates that student (the upstream upserts on it).
    const kept = (await s.provision({ student: newStudent({ deviceStudentId: '777001' }) })).json()
    expect(kept.deviceStudentId).toBe('777001')
    const upsert = await s.provision({ student: { deviceStudentId: '777001', firstName: 'Renamed' } })
    expect(upsert.statusCode, upsert.body).toBe(201)
    expect(upsert.json()).toMatchObject({ studentId: kept.studentId, student: { firstName: 'Renamed' } })
  })

  it('updates a student named by studentId, refusing another deviceStudentId', async () => {
    const s = await setup(1)
    const created = (await s.provision({ student: newStudent() })).json()
    await waitForJob(app, s.admin, created.provisioningId)
    expectProblem(await s.provision({ studentId: created.studentId, student: { deviceStudentId: '123', firstName: 'X' } }), 400, 'DEVICE_STUDENT_ID_MISMATCH')
    const updated = await s.provision({ studentId: created.studentId, student: { firstName: 'Zarina', faceImageBase64: await face(5) } })
    expect(updated.statusCode, updated.body).toBe(201)
    expect(updated.json().provisioningId).not.toBe(created.provisioningId)
    await waitForJob(app, s.admin, updated.json().provisioningId)
    const { t } = s.terminals[0]
    expect(t.snapshot().users.map((u) => u.name)).toEqual([`Zarina ${created.student.lastName}`])
    expect(t.snapshot().faces).toHaveLength(1)
  })

  it('validates: a new student needs a name and gender; an undecodable face is a 422 saving nothing', async () => {
    const s = await setup(0)
    expectValidation(await s.provision({ student: { firstName: 'A', lastName: 'B' } }), 'student.gender')
    expectValidation(await s.provision({ student: { gender: 'male' } }), 'student.firstName')
    expectValidation(await s.provision({ student: newStudent({ gender: 'x' }) }), 'student.gender')
    expectProblem(await s.provision({ student: newStudent({ faceImageBase64: Buffer.from('not an image').toString('base64') }) }), 422, 'PHOTO_INVALID')
    expectProblem(await s.provision({ student: newStudent(), targetDeviceIds: [randomUUID()] }), 400, 'DEVICE_NOT_IN_SCHOOL')
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(0)
  })

  it('accepts Idempotency-Key: same key and body → same provisioning; another body → 422', async () => {
    const s = await setup(1)
    const headers = { ...s.admin, 'idempotency-key': randomUUID() }
    const payload = { student: newStudent() }
    const first = await s.provision(payload, headers)
    const second = await s.provision(payload, headers)
    expect(second.statusCode).toBe(201)
    expect(second.json().provisioningId).toBe(first.json().provisioningId)
    expectProblem(await s.provision({ student: newStudent() }, headers), 422, 'IDEMPOTENCY_KEY_REUSED')
  })
})

describe('a failing device, retry and device-result', () => {
  it('is PARTIAL with the cause in the links and logs; retry really writes the person once the device is back', async () => {
    const s = await setup(1, { offline: true })
    const offline = s.offline!
    const body = (await s.provision({ student: newStudent({ faceImageBase64: await face(2) }) })).json()
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ status: 'partial' })
    const status = (await s.get(body.provisioningId)).json()
    expect(status.status).toBe('PARTIAL')
    const link = status.devices.find((d: { deviceId: string }) => d.deviceId === offline.id)
    expect(link).toMatchObject({ status: 'FAILED', errorCode: 'DEVICE_UNREACHABLE', step: 'device', employeeNoOnDevice: null, lastError: expect.any(String) })
    const logs = (await s.get(body.provisioningId, '/logs')).json()
    expect(logs).toContainEqual(expect.objectContaining({ deviceId: offline.id, level: 'ERROR', stage: 'DEVICE_CONNECTION', status: 'FAILED', message: expect.stringMatching(/^DEVICE_UNREACHABLE: /) }))

    const back = await startTerminal({ port: offline.port, index: nextTerminalIndex() })
    const retry = await s.post(body.provisioningId, '/retry', {})
    expect(retry.statusCode, retry.body).toBe(200)
    expect(retry.json()).toEqual({ ok: true, updated: 1, targetDeviceIds: [offline.id], provisioningStatus: 'PROCESSING' })
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ status: 'succeeded', retryCount: 1 })
    expect((await s.get(body.provisioningId)).json().status).toBe('CONFIRMED')
    expect(back.snapshot().users.map((u) => u.employeeNo)).toEqual([body.deviceStudentId])
    expect(back.snapshot().faces).toHaveLength(1)
    expect((await s.get(body.provisioningId, '/logs')).json()[0]).toMatchObject({ stage: expect.stringMatching(/^(DEVICE_SYNC|PROVISIONING_RETRY)$/) })
    expectProblem(await s.post(body.provisioningId, '/retry', {}), 409, 'NOTHING_TO_RETRY')
  })

  it('device-result records what a client wrote itself: the link, the job counts and the person-on-device state', async () => {
    const s = await setup(1, { offline: true })
    const [a] = s.terminals
    const offline = s.offline!
    // Only the offline device is targeted; the client then writes to it (and to the other one) itself.
    const body = (await s.provision({ student: newStudent(), targetDeviceIds: [offline.id] })).json()
    await waitForJob(app, s.admin, body.provisioningId)
    expect((await s.get(body.provisioningId)).json().status).toBe('FAILED')

    expectProblem(await s.post(body.provisioningId, '/device-result', { deviceId: offline.id, status: 'SUCCESS', employeeNoOnDevice: '999' }), 400, 'EMPLOYEE_NO_MISMATCH')
    const ok = await s.post(body.provisioningId, '/device-result', { deviceId: offline.id, status: 'SUCCESS', employeeNoOnDevice: body.deviceStudentId })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json()).toEqual({ ok: true, provisioningStatus: 'CONFIRMED', deviceStatus: 'SUCCESS' })
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ status: 'succeeded', progress: { done: 1, total: 1 }, counts: { success: 1, failed: 0 } })
    expect(await app.prisma.personDevice.findUnique({ where: { studentId_deviceId: { studentId: body.studentId, deviceId: offline.id } } }))
      .toMatchObject({ state: 'synced', employeeNo: body.deviceStudentId })

    // A device outside the targets, found by its unique name, joins the provisioning.
    const failed = await s.post(body.provisioningId, '/device-result', { deviceName: (await app.prisma.device.findUniqueOrThrow({ where: { id: a.id } })).name, status: 'FAILED', error: 'Face upload failed' })
    expect(failed.json()).toEqual({ ok: true, provisioningStatus: 'PARTIAL', deviceStatus: 'FAILED' })
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ status: 'partial', progress: { done: 2, total: 2 }, counts: { success: 1, failed: 1 } })
    const status = (await s.get(body.provisioningId)).json()
    expect(status.devices.find((d: { deviceId: string }) => d.deviceId === a.id)).toMatchObject({ status: 'FAILED', lastError: 'Face upload failed', step: 'reported' })
    const logs = (await s.get(body.provisioningId, '/logs')).json()
    expect(logs.filter((l: { stage: string }) => l.stage === 'DEVICE_RESULT').map((l: { status: string, level: string }) => [l.status, l.level]))
      .toEqual([['FAILED', 'ERROR'], ['SUCCESS', 'INFO']])

    // Retry really pushes the reported failure: the server writes the person to that device now.
    const retry = await s.post(body.provisioningId, '/retry', { deviceIds: [a.id] })
    expect(retry.json()).toMatchObject({ updated: 1, targetDeviceIds: [a.id] })
    expect(await waitForJob(app, s.admin, body.provisioningId)).toMatchObject({ status: 'succeeded' })
    expect(a.t.snapshot().users.map((u) => u.employeeNo)).toEqual([body.deviceStudentId])
    expect((await s.get(body.provisioningId)).json().status).toBe('CONFIRMED')

    expectProblem(await s.post(body.provisioningId, '/device-result', { deviceExternalId: 'nope', status: 'SUCCESS' }), 404, 'DEVICE_NOT_FOUND')
    expectValidation(await s.post(body.provisioningId, '/device-result', { status: 'SUCCESS' }), 'deviceId')
  })

  it('device-result with the same Idempotency-Key and body is recorded once', async () => {
    const s = await setup(1)
    const [a] = s.terminals
    const body = (await s.provision({ student: newStudent(), targetDeviceIds: [] })).json()
    const headers = { ...s.admin, 'idempotency-key': randomUUID() }
    const payload = { deviceId: a.id, status: 'FAILED', error: 'x' }
    expect((await s.post(body.provisioningId, '/device-result', payload, headers)).statusCode).toBe(200)
    expect((await s.post(body.provisioningId, '/device-result', payload, headers)).statusCode).toBe(200)
    expect((await s.get(body.provisioningId)).json().devices[0].attemptCount).toBe(1)
    expectProblem(await s.post(body.provisioningId, '/device-result', { ...payload, status: 'SUCCESS' }, headers), 422, 'IDEMPOTENCY_KEY_REUSED')
  })
})

describe('who may provision', () => {
  it('operators and teachers of the class; not guards, not other classes, not other schools', async () => {
    const s = await setup(0)
    const own = await createClass(app, s.school.id)
    const foreign = await createClass(app, s.school.id)
    const teacher = await signedInAs(app, 'TEACHER', s.school.id)
    await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: own.id } })
    const operator = (await signedInAs(app, 'OPERATOR', s.school.id)).headers
    const guard = (await signedInAs(app, 'GUARD', s.school.id)).headers
    const otherAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', (await createSchool(app)).id)).headers

    expect((await s.provision({ student: newStudent() }, operator)).statusCode).toBe(201)
    const mine = await s.provision({ student: newStudent({ classId: own.id }) }, teacher.headers)
    expect(mine.statusCode, mine.body).toBe(201)
    expectProblem(await s.provision({ student: newStudent({ classId: foreign.id }) }, teacher.headers), 403, 'FORBIDDEN')
    expectProblem(await s.provision({ student: newStudent() }, teacher.headers), 403, 'FORBIDDEN')
    expectProblem(await s.provision({ student: newStudent() }, guard), 403, 'FORBIDDEN')
    expectProblem(await s.provision({ student: newStudent() }, otherAdmin), 404, 'SCHOOL_NOT_FOUND')

    const id = mine.json().provisioningId
    expect((await s.get(id, '', teacher.headers)).statusCode).toBe(200)
    const adminsOwn = (await s.provision({ student: newStudent({ classId: foreign.id }) })).json().provisioningId
    expectProblem(await s.get(adminsOwn, '', teacher.headers), 404, 'PROVISIONING_NOT_FOUND')
    expectProblem(await s.get(id, '', otherAdmin), 404, 'PROVISIONING_NOT_FOUND')
    expectProblem(await s.get(id, '', guard), 404, 'PROVISIONING_NOT_FOUND')
    expectProblem(await s.get(randomUUID()), 404, 'PROVISIONING_NOT_FOUND')
  })
})
