import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, signedInAs } from '../../../test/factories/index.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'
import { addDevice, faceJpeg, nextTerminalIndex, schoolWithTerminals, startTerminal } from '../../../test/helpers/terminals.js'
import type { SimulatedTerminal } from '../../simulator/index.js'

type Headers = Record<string, string>
interface Result { deviceId: string, deviceName: string, result: string, code: string | null, reason: string | null }

// Fast retries against the closed port; the workers poll pg-boss twice a second.
const app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error', SYNC_TRANSIENT_BACKOFF_MS: '20' })

/** A school with `n` simulated terminals (and one device on a closed port when `offline`), and its admin. */
async function setup (n: number, o: { offline?: boolean } = {}) {
  const { school, admin, terminals, offline } = await schoolWithTerminals(app, n, o)
  const base = `/api/v1/schools/${school.id}/students`
  return {
    school, admin, terminals, offline, base,
    create: (payload: Record<string, unknown>, query = '', headers: Headers = admin) =>
      app.inject({ method: 'POST', url: `${base}${query}`, headers, payload: { firstName: 'Ali', lastName: `Karimov${randomUUID().slice(0, 4)}`, gender: 'male', ...payload } }),
    patch: (id: string, payload: Record<string, unknown>, query = '') =>
      app.inject({ method: 'PATCH', url: `${base}/${id}${query}`, headers: admin, payload }),
  }
}

const usersOn = (t: SimulatedTerminal) => Object.fromEntries(t.snapshot().users.map((u) => [u.employeeNo, u.name]))
const byDevice = (results: Result[]) => Object.fromEntries(results.map((r) => [r.deviceId, r]))

describe('syncMode on create and update', () => {
  it('none saves without any job or device call', async () => {
    const s = await setup(1)
    const res = await s.create({ syncMode: 'none' })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().sync).toBeNull()
    expect(s.terminals[0].t.snapshot().users).toHaveLength(0)
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(0)
  })

  it('defaults to all devices for a new student, and wait answers each device\'s result', async () => {
    const s = await setup(2)
    const res = await s.create({}, '?wait=true')
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body.sync).toMatchObject({ jobId: expect.any(String), status: 'succeeded', syncMode: 'all' })
    expect(body.sync.deviceIds.sort()).toEqual(s.terminals.map((d) => d.id).sort())
    expect(body.sync.results).toHaveLength(2)
    for (const r of body.sync.results) expect(r).toMatchObject({ result: 'SUCCESS', code: null, deviceName: expect.stringMatching(/^Gate /) })
    for (const { t } of s.terminals) expect(usersOn(t)[body.employeeNo]).toBe(`${body.firstName} ${body.lastName}`)
    const job = await waitForJob(app, s.admin, body.sync.jobId)
    expect(job).toMatchObject({ type: 'sync', params: { studentId: body.id, syncMode: 'all' } })
  })

  it('without wait answers at once with the job to follow', async () => {
    const s = await setup(1)
    const body = (await s.create({})).json()
    expect(body.sync).toMatchObject({ jobId: expect.any(String), status: 'queued', syncMode: 'all' })
    expect(body.sync.results).toBeUndefined()
    expect(await waitForJob(app, s.admin, body.sync.jobId)).toMatchObject({ status: 'succeeded' })
    expect(usersOn(s.terminals[0].t)[body.employeeNo]).toBeDefined()
  })

  it('selected and current go only to the named devices', async () => {
    const s = await setup(3)
    const [a, b, c] = s.terminals
    const selected = (await s.create({ syncMode: 'selected', targetDeviceIds: [a.id, c.id], wait: true })).json()
    expect(selected.sync.results.map((r: Result) => r.deviceId).sort()).toEqual([a.id, c.id].sort())
    const current = (await s.create({ syncMode: 'current', targetDeviceIds: [b.id], wait: true })).json()
    expect(current.sync).toMatchObject({ syncMode: 'current', deviceIds: [b.id], results: [{ deviceId: b.id, result: 'SUCCESS' }] })
    expect(Object.keys(usersOn(a.t))).toEqual([selected.employeeNo])
    expect(Object.keys(usersOn(b.t))).toEqual([current.employeeNo])
    expect(Object.keys(usersOn(c.t))).toEqual([selected.employeeNo])
    // targetDeviceIds alone means selected.
    const implied = (await s.create({ targetDeviceIds: [b.id] })).json()
    expect(implied.sync).toMatchObject({ syncMode: 'selected', deviceIds: [b.id] })
  })

  it('validates targetDeviceIds against the mode and the school, saving nothing', async () => {
    const s = await setup(2)
    const other = await setup(1)
    const [a, b] = s.terminals
    expectValidation(await s.create({ syncMode: 'selected' }), 'targetDeviceIds')
    expectValidation(await s.create({ syncMode: 'current', targetDeviceIds: [a.id, b.id] }), 'targetDeviceIds')
    expectValidation(await s.create({ syncMode: 'all', targetDeviceIds: [a.id] }), 'targetDeviceIds')
    expectValidation(await s.create({ syncMode: 'sometimes' }), 'syncMode')
    const foreign = expectProblem(await s.create({ syncMode: 'selected', targetDeviceIds: [other.terminals[0].id], lastName: 'Foreign' }), 400, 'DEVICE_NOT_IN_SCHOOL')
    expect(foreign.deviceIds).toEqual([other.terminals[0].id])
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(0)
  })

  it('an update goes to the devices only when it changes what a terminal stores', async () => {
    const s = await setup(1)
    const { t } = s.terminals[0]
    const student = (await s.create({ wait: true })).json()
    const phoneOnly = (await s.patch(student.id, { parentPhone: '+998901234567' })).json()
    expect(phoneOnly.sync).toBeNull()
    const renamed = await s.patch(student.id, { firstName: 'Vali' }, '?wait=true')
    expect(renamed.statusCode, renamed.body).toBe(200)
    expect(renamed.json().sync).toMatchObject({ status: 'succeeded', results: [{ result: 'SUCCESS' }] })
    expect(usersOn(t)[student.employeeNo]).toBe(`Vali ${student.lastName}`)
    // An explicit mode always runs; the device already has this version, so it is skipped.
    const again = (await s.patch(student.id, { syncMode: 'all', wait: true })).json()
    expect(again.sync.results).toEqual([expect.objectContaining({ result: 'SKIPPED', reason: 'unchanged' })])
  })
})

describe('a device that is offline', () => {
  it('fails with DEVICE_UNREACHABLE while the others succeed; the save stands and a retry converges', async () => {
    const s = await setup(1, { offline: true })
    const online = s.terminals[0]
    const offline = s.offline!
    const res = await s.create({}, '?wait=true')
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body.sync.status).toBe('partial')
    const results = byDevice(body.sync.results)
    expect(results[online.id]).toMatchObject({ result: 'SUCCESS' })
    expect(results[offline.id]).toMatchObject({ result: 'FAILED', code: 'DEVICE_UNREACHABLE', deviceName: 'Gate offline', reason: expect.any(String) })
    expect(await app.prisma.student.findUniqueOrThrow({ where: { id: body.id } })).toMatchObject({ deletedAt: null, status: 'active' })

    const back = await startTerminal({ port: offline.port, index: nextTerminalIndex() })
    const retry = await app.inject({ method: 'POST', url: `/api/v1/jobs/${body.sync.jobId}/retry`, headers: s.admin, payload: {} })
    expect(retry.statusCode, retry.body).toBe(200)
    expect(await waitForJob(app, s.admin, body.sync.jobId)).toMatchObject({ status: 'succeeded', counts: { success: 2, failed: 0 } })
    expect(usersOn(back)[body.employeeNo]).toBe(`${body.firstName} ${body.lastName}`)
  })
})

describe('atomic', () => {
  it('succeeds like wait when every device takes the change', async () => {
    const s = await setup(2)
    const res = await s.create({}, '?atomic=true')
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().sync.results.map((r: Result) => r.result)).toEqual(['SUCCESS', 'SUCCESS'])
  })

  it('a new student: a failing device undoes the one that took it and soft-deletes the student', async () => {
    const s = await setup(1, { offline: true })
    const a = s.terminals[0]
    const lastName = `Atomic${randomUUID().slice(0, 4)}`
    const res = await s.create({ atomic: true, lastName })
    const problem = expectProblem(res, 502, 'SYNC_ATOMIC_FAILED')
    expect(problem).toMatchObject({ databaseRestored: true, jobId: expect.any(String), rollbackJobId: expect.any(String) })
    const results = byDevice(problem.results)
    expect(results[a.id]).toMatchObject({ result: 'SUCCESS', rollback: 'DONE' })
    expect(results[s.offline!.id]).toMatchObject({ result: 'FAILED', code: 'DEVICE_UNREACHABLE', rollback: 'NOT_NEEDED' })
    expect(a.t.snapshot().users).toHaveLength(0)
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: problem.studentId } })
    expect(row).toMatchObject({ status: 'inactive', lastName })
    expect(row.deletedAt).toBeInstanceOf(Date)
    // The number stays used; the name is free again.
    expect((await s.create({ syncMode: 'none', lastName })).statusCode).toBe(201)
    const audit = await app.prisma.auditLog.findMany({ where: { entity: 'student', entityId: row.id }, orderBy: { createdAt: 'asc' } })
    expect(audit.map((r) => r.action)).toEqual(['create', 'sync_rollback'])
  })

  it('an update: the device that took it gets the previous version back and the row is restored', async () => {
    const s = await setup(1, { offline: true })
    const a = s.terminals[0]
    const student = (await s.create({ syncMode: 'selected', targetDeviceIds: [a.id], wait: true, firstName: 'Old' })).json()
    expect(usersOn(a.t)[student.employeeNo]).toBe(`Old ${student.lastName}`)
    const res = await s.patch(student.id, { firstName: 'New', syncMode: 'all', atomic: true })
    const problem = expectProblem(res, 502, 'SYNC_ATOMIC_FAILED')
    expect(byDevice(problem.results)[a.id]).toMatchObject({ result: 'SUCCESS', rollback: 'DONE' })
    expect(usersOn(a.t)[student.employeeNo]).toBe(`Old ${student.lastName}`)
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    expect(row).toMatchObject({ firstName: 'Old', deletedAt: null, status: 'active' })
  })
})

describe('deactivation, deletion and photos', () => {
  it('deactivating removes the student from every device', async () => {
    const s = await setup(2)
    const student = (await s.create({ wait: true })).json()
    const other = (await s.create({ wait: true })).json()
    for (const { t } of s.terminals) expect(Object.keys(usersOn(t)).sort()).toEqual([student.employeeNo, other.employeeNo].sort())
    const res = await s.patch(student.id, { status: 'inactive' }, '?wait=true')
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().sync).toMatchObject({ syncMode: 'all', status: 'succeeded', results: [{ result: 'SUCCESS' }, { result: 'SUCCESS' }] })
    expect(await waitForJob(app, s.admin, res.json().sync.jobId)).toMatchObject({ type: 'remove' })
    for (const { t } of s.terminals) expect(Object.keys(usersOn(t))).toEqual([other.employeeNo])
    // Still inactive: a rename concerns no device.
    expect((await s.patch(student.id, { firstName: 'Renamed' })).json().sync).toBeNull()
  })

  it('disables instead when the school says so', async () => {
    const s = await setup(1)
    await app.prisma.school.update({ where: { id: s.school.id }, data: { inactiveOnDevice: 'disable' } })
    const student = (await s.create({ wait: true })).json()
    const res = (await s.patch(student.id, { status: 'inactive', wait: true })).json()
    expect(res.sync.results).toEqual([expect.objectContaining({ result: 'SUCCESS' })])
    const user = s.terminals[0].t.snapshot().users.find((u) => u.employeeNo === student.employeeNo) as unknown as { Valid?: { enable?: boolean } }
    expect(user?.Valid?.enable).toBe(false)
  })

  it('deleting removes the student from every device', async () => {
    const s = await setup(2)
    const student = (await s.create({ wait: true })).json()
    const del = await app.inject({ method: 'DELETE', url: `${s.base}/${student.id}`, headers: s.admin })
    expect(del.statusCode).toBe(204)
    const jobs = await app.inject({ method: 'GET', url: `/api/v1/jobs?schoolId=${s.school.id}&type=remove`, headers: s.admin })
    expect(jobs.json().items).toHaveLength(1)
    expect(await waitForJob(app, s.admin, jobs.json().items[0].id)).toMatchObject({ status: 'succeeded', counts: { success: 2 } })
    for (const { t } of s.terminals) expect(t.snapshot().users).toHaveLength(0)
  })

  it('a new photo goes to the devices the student is on, unless syncMode=none', async () => {
    const s = await setup(2)
    const [a, b] = s.terminals
    const student = (await s.create({ syncMode: 'selected', targetDeviceIds: [a.id], wait: true })).json()
    const put = async (seed: number, query: string) => app.inject({
      method: 'PUT', url: `${s.base}/${student.id}/photo${query}`, headers: s.admin, payload: { imageBase64: (await faceJpeg(200, seed)).toString('base64') },
    })
    const stored = await put(1, '?syncMode=none')
    expect(stored.statusCode, stored.body).toBe(200)
    expect(stored.json().sync).toBeNull()
    expect(a.t.snapshot().faces).toHaveLength(0)

    const pushed = await put(2, '?wait=true')
    expect(pushed.statusCode, pushed.body).toBe(200)
    expect(pushed.json().sync).toMatchObject({ status: 'succeeded', deviceIds: [a.id], results: [{ deviceId: a.id, result: 'SUCCESS' }] })
    expect(a.t.snapshot().faces.map((f) => f.FPID)).toEqual([student.employeeNo])
    expect(b.t.snapshot().users).toHaveLength(0)
    expect(await waitForJob(app, s.admin, pushed.json().sync.jobId)).toMatchObject({ params: { photosOnly: true } })
  })
})

describe('Idempotency-Key on create', () => {
  it('answers the same student and job for the same key and body, and 422 for another body', async () => {
    const s = await setup(1)
    const key = randomUUID()
    const payload = { firstName: 'Once', lastName: 'Only', gender: 'female' }
    const post = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: s.base, headers: { ...s.admin, 'idempotency-key': key }, payload: body })
    const first = await post(payload)
    expect(first.statusCode, first.body).toBe(201)
    const second = await post(payload)
    expect(second.statusCode).toBe(201)
    expect(second.json()).toMatchObject({ id: first.json().id, sync: { jobId: first.json().sync.jobId } })
    expectProblem(await post({ ...payload, firstName: 'Twice' }), 422, 'IDEMPOTENCY_KEY_REUSED')
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(1)
  })
})

describe('a wait that runs out', () => {
  let slow: TestApp
  beforeAll(async () => {
    slow = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error', SYNC_WAIT_SECONDS: '0.3' })
  })

  it('answers with the job still running and no results for the device still working', async () => {
    const school = await createSchool(slow)
    const admin = (await signedInAs(slow, 'SCHOOL_ADMIN', school.id)).headers
    const t = await startTerminal({ index: nextTerminalIndex(), faults: { latencyUserMs: 1500 } })
    await addDevice(slow, admin, school.id, t)
    const res = await slow.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/students?wait=true`, headers: admin, payload: { firstName: 'Slow', lastName: 'Gate', gender: 'male' } })
    expect(res.statusCode, res.body).toBe(201)
    const { sync } = res.json()
    expect(['queued', 'running']).toContain(sync.status)
    expect(sync.results).toEqual([])
    expect(await waitForJob(slow, admin, sync.jobId)).toMatchObject({ status: 'succeeded' })
  })
})
