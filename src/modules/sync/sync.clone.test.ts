import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { facesOn, namesOn, syncSchool } from '../../../test/helpers/sync-school.js'
import { addDevice, faceJpeg, seedUsers, startTerminal } from '../../../test/helpers/terminals.js'
import { schoolWithBystander } from './test/school-with-bystander.js'

describe('POST /schools/:schoolId/devices/:deviceId/clone', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error' })
  })

  const clone = (schoolId: string, deviceId: string, headers: Record<string, string>, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/schools/${schoolId}/devices/${deviceId}/clone`, headers, payload })

  it('pushes every active student from the database onto one terminal only', async () => {
    const { s, terminal: target, device, bystander } = await schoolWithBystander(app)
    const students = await s.addStudents(3)
    await s.addStudents(1, { photos: false, over: { status: 'inactive' } })

    const res = await clone(s.school.id, device.id, s.admin, { from: 'database' })
    expect(res.statusCode, res.body).toBe(202)
    const job = await waitForJob(app, s.admin, res.json().jobId)
    expect(job).toMatchObject({ type: 'clone_database', status: 'succeeded', progress: { total: 3 }, counts: { success: 3, failed: 0 } })
    expect(job.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([device.id])
    expect(Object.keys(namesOn(target)).sort()).toEqual(students.map((st) => st.employeeNo).sort())
    expect(target.snapshot().faces).toHaveLength(3)
    expect(bystander.snapshot().users).toEqual([])

    // A clone resends everything, even what the device already has.
    const keyed = { ...s.admin, 'idempotency-key': 'clone-again' }
    const repeat = await clone(s.school.id, device.id, keyed, { from: 'database' })
    const again = await waitForJob(app, s.admin, repeat.json().jobId)
    expect(again).toMatchObject({ status: 'succeeded', counts: { success: 3, skipped: 0 } })
    // The same Idempotency-Key and body answer the same job; another body with it is refused.
    expect((await clone(s.school.id, device.id, keyed, { from: 'database' })).json()).toEqual(repeat.json())
    expectProblem(await clone(s.school.id, device.id, keyed, { fromDeviceId: device.id }), 422, 'IDEMPOTENCY_KEY_REUSED')
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(2)
  })

  it('copies users and faces from one terminal to another, skipping users the target already has', async () => {
    const s = await syncSchool(app)
    const source = await startTerminal({ index: 3 })
    const target = await startTerminal({ index: 4 })
    const from = await addDevice(app, s.admin, s.school.id, source)
    const to = await addDevice(app, s.admin, s.school.id, target)
    const seeded = await seedUsers(source, ['101', '102', '103', '104'])
    for (const [i, no] of ['101', '102', '103'].entries()) await seeded.addFace(no, { image: await faceJpeg(180, 50 + i) })
    const onTarget = await seedUsers(target, ['102'], () => 'Already Here')

    const res = await clone(s.school.id, to.id, s.admin, { fromDeviceId: from.id })
    expect(res.statusCode, res.body).toBe(202)
    const job = await waitForJob(app, s.admin, res.json().jobId)
    expect(job).toMatchObject({ type: 'clone_device', status: 'succeeded', progress: { done: 4, total: 4 }, counts: { success: 3, skipped: 1, failed: 0 } })
    const skipped = await s.items(job.id, '&status=skipped')
    expect(skipped.items).toMatchObject([{ employeeNo: '102', action: 'copy', note: 'already on the target device' }])

    expect(namesOn(target)).toEqual({ 101: 'Pupil 101', 102: 'Already Here', 103: 'Pupil 103', 104: 'Pupil 104' })
    const sourceFaces = facesOn(source)
    // Faces copied byte for byte; the skipped user keeps what it had (no face).
    expect(facesOn(target)).toEqual({ 101: sourceFaces['101'], 103: sourceFaces['103'] })
    const validity = Object.fromEntries(target.snapshot().users.map((u) => [u.employeeNo, u.Valid.beginTime]))
    expect(validity['101']).toBe('2026-09-01T00:00:00')
    expect(await onTarget.countUsers()).toEqual({ userNumber: 4, bindFaceUserNumber: 2 })
    expect(source.snapshot().users).toHaveLength(4)
    expect(source.snapshot().maxConcurrentRequests).toBe(1)
    expect(target.snapshot().maxConcurrentRequests).toBe(1)
  })

  it('refuses to clone a terminal onto itself, or from another school\'s terminal', async () => {
    const s = await syncSchool(app)
    const other = await syncSchool(app)
    const device = await addDevice(app, s.admin, s.school.id, await startTerminal({ index: 5 }))
    const foreign = await addDevice(app, other.admin, other.school.id, await startTerminal({ index: 6 }))
    expectProblem(await clone(s.school.id, device.id, s.admin, { fromDeviceId: device.id }), 400, 'CLONE_SAME_DEVICE')
    expectProblem(await clone(s.school.id, device.id, s.admin, { fromDeviceId: foreign.id }), 404, 'DEVICE_NOT_FOUND')
    expect((await clone(s.school.id, device.id, s.admin, { from: 'elsewhere' })).statusCode).toBe(400)
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(0)
  })
})
