import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { signedInAs } from '../../../test/factories/index.js'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { facesOn, namesOn, photoSha, syncSchool } from '../../../test/helpers/sync-school.js'
import { addDevice, startTerminal } from '../../../test/helpers/terminals.js'
import { upsertPersonDevice } from './sync.repository.js'

describe('POST /schools/:schoolId/sync', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error' })
  })

  it('pushes every student with its face to every terminal, then re-sends only what changed', async () => {
    const s = await syncSchool(app)
    const terminals = [await startTerminal({ index: 1 }), await startTerminal({ index: 2 }), await startTerminal({ index: 3 })]
    for (const t of terminals) await addDevice(app, s.admin, s.school.id, t)
    // 20:30 UTC on 1 March is already 2 March in Tashkent (UTC+5): the validity starts on the local day.
    const students = await s.addStudents(3, { over: { createdAt: new Date('2026-03-01T20:30:00Z'), gender: 'female' } })

    const first = await waitForJob(app, s.admin, await s.startSync())
    expect(first).toMatchObject({ status: 'succeeded', progress: { done: 9, total: 9 }, counts: { success: 9, failed: 0, skipped: 0 } })
    for (const t of terminals) {
      const snap = t.snapshot()
      expect(namesOn(t)).toEqual(Object.fromEntries(students.map((st) => [st.employeeNo, `${st.firstName} ${st.lastName}`])))
      for (const u of snap.users) {
        expect(u.gender).toBe('female')
        expect(u.Valid).toMatchObject({ enable: true, beginTime: '2026-03-02T00:00:00', endTime: '2037-12-31T23:59:59' })
      }
      expect(facesOn(t)).toEqual(Object.fromEntries(await Promise.all(students.map(async (st) => [st.employeeNo, await photoSha(app, st.id)]))))
    }

    const again = await waitForJob(app, s.admin, await s.startSync())
    expect(again).toMatchObject({ status: 'succeeded', counts: { success: 0, failed: 0, skipped: 9 } })
    expect((await s.items(again.id, '&status=skipped')).items.every((i) => i.note === 'unchanged')).toBe(true)

    const edited = students[1]
    await s.patchStudent(edited.id, { firstName: 'Dilnoza' })
    const requestsBefore = terminals.map((t) => t.snapshot().requests.length)
    const incremental = await waitForJob(app, s.admin, await s.startSync())
    expect(incremental).toMatchObject({ status: 'succeeded', counts: { success: 3, failed: 0, skipped: 6 } })
    const sent = (await s.items(incremental.id, '&status=success')).items
    expect(sent.map((i) => i.employeeNo)).toEqual([edited.employeeNo, edited.employeeNo, edited.employeeNo])
    terminals.forEach((t, i) => {
      expect(namesOn(t)[edited.employeeNo]).toBe(`Dilnoza ${edited.lastName}`)
      // The face did not change, so only the record went.
      expect(t.snapshot().requests.slice(requestsBefore[i]).filter((r) => r.path.startsWith('/ISAPI/Intelligent/FDLib/'))).toEqual([])
    })

    const full = await waitForJob(app, s.admin, await s.startSync({ full: true }))
    expect(full).toMatchObject({ status: 'succeeded', counts: { success: 9, failed: 0, skipped: 0 } })
  })

  it('photosOnly sends only faces; a changed photo replaces the face and an unchanged one is skipped', async () => {
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 4 })
    await addDevice(app, s.admin, s.school.id, t)
    const [a, b] = await s.addStudents(2)
    const [noPhoto] = await s.addStudents(1, { photos: false })
    expect(await waitForJob(app, s.admin, await s.startSync())).toMatchObject({ status: 'succeeded', counts: { success: 3 } })
    const shaA = facesOn(t)[a.employeeNo]

    await s.uploadPhoto(b.id, 999)
    const before = t.snapshot().requests.length
    const job = await waitForJob(app, s.admin, await s.startSync({ photosOnly: true }))
    // The student without a photo is not part of a photo job at all.
    expect(job).toMatchObject({ status: 'succeeded', progress: { total: 2 }, counts: { success: 1, skipped: 1, failed: 0 } })
    const items = (await s.items(job.id)).items
    expect(items.map((i) => [i.employeeNo, i.status])).toEqual(expect.arrayContaining([[a.employeeNo, 'skipped'], [b.employeeNo, 'success']]))
    expect(items.some((i) => i.employeeNo === noPhoto.employeeNo)).toBe(false)

    const faces = facesOn(t)
    expect(faces[a.employeeNo]).toBe(shaA)
    expect(faces[b.employeeNo]).toBe(await photoSha(app, b.id))
    expect(faces[b.employeeNo]).not.toBe(shaA)
    // Digest challenges (401) aside: no user record, the face add answers FACE_EXISTS, then the face is replaced.
    const calls = t.snapshot().requests.slice(before).filter((r) => r.status !== 401 && r.path.startsWith('/ISAPI/'))
    expect(calls.map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`)).toEqual([
      'POST /ISAPI/Intelligent/FDLib/FaceDataRecord 400', 'PUT /ISAPI/Intelligent/FDLib/FDSetUp 200',
    ])
    expect(t.snapshot().faces).toHaveLength(2)
  })

  it('removes a deactivated student from the terminals in a school sync', async () => {
    const s = await syncSchool(app)
    const terminals = [await startTerminal({ index: 5 }), await startTerminal({ index: 6 })]
    for (const t of terminals) await addDevice(app, s.admin, s.school.id, t)
    const [keep, leave] = await s.addStudents(2)
    await waitForJob(app, s.admin, await s.startSync())
    await app.prisma.student.update({ where: { id: leave.id }, data: { status: 'inactive', version: { increment: 1 } } })

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'succeeded', counts: { success: 2, skipped: 2, failed: 0 } })
    expect((await s.items(job.id, '&status=success')).items.map((i) => [i.employeeNo, i.action])).toEqual([[leave.employeeNo, 'remove'], [leave.employeeNo, 'remove']])
    for (const t of terminals) {
      expect(Object.keys(namesOn(t))).toEqual([keep.employeeNo])
      expect(Object.keys(facesOn(t))).toEqual([keep.employeeNo])
    }
    // Gone from the devices: the next sync does not visit it again.
    expect(await waitForJob(app, s.admin, await s.startSync())).toMatchObject({ progress: { total: 2 }, counts: { skipped: 2 } })
  })

  it('disables a deactivated student instead when the school keeps inactive persons', async () => {
    const s = await syncSchool(app, { inactiveOnDevice: 'disable' })
    const t = await startTerminal({ index: 7 })
    await addDevice(app, s.admin, s.school.id, t)
    const [keep, leave] = await s.addStudents(2)
    await waitForJob(app, s.admin, await s.startSync())
    await app.prisma.student.update({ where: { id: leave.id }, data: { status: 'inactive', version: { increment: 1 } } })

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'succeeded', counts: { success: 1, skipped: 1 } })
    const users = Object.fromEntries(t.snapshot().users.map((u) => [u.employeeNo, u.Valid.enable]))
    expect(users).toEqual({ [keep.employeeNo]: true, [leave.employeeNo]: false })
    expect(Object.keys(facesOn(t)).sort()).toEqual([keep.employeeNo, leave.employeeNo].sort())
  })

  it('answers the same job for a repeated Idempotency-Key and 422 when the body differs', async () => {
    const s = await syncSchool(app)
    await addDevice(app, s.admin, s.school.id, await startTerminal({ index: 8 }))
    await s.addStudents(1, { photos: false })
    const post = (key: string, payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: `${s.base}/sync`, headers: { ...s.admin, 'idempotency-key': key }, payload })

    const [one, two] = await Promise.all([post('k-1', { full: true }), post('k-1', { full: true })])
    expect(one.statusCode, one.body).toBe(202)
    expect(two.statusCode, two.body).toBe(202)
    expect(two.json().jobId).toBe(one.json().jobId)
    const three = await post('k-1', { full: true })
    expect(three.statusCode).toBe(202)
    expect(three.json().jobId).toBe(one.json().jobId)
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(1)

    expectProblem(await post('k-1', { full: false }), 422, 'IDEMPOTENCY_KEY_REUSED')
    const other = await post('k-2', { full: true })
    expect(other.statusCode).toBe(202)
    expect(other.json().jobId).not.toBe(one.json().jobId)
    expect(await app.prisma.syncJob.count({ where: { schoolId: s.school.id } })).toBe(2)
  })

  it('a face a terminal rejects fails that item at the face step; the terminal carries on; studentIds limits the job', async () => {
    const s = await syncSchool(app)
    const picky = await startTerminal({ index: 16, maxFaceBytes: 100 })
    const good = await startTerminal({ index: 17 })
    const pickyDevice = await addDevice(app, s.admin, s.school.id, picky)
    await addDevice(app, s.admin, s.school.id, good)
    const students = await s.addStudents(3)
    const chosen = students.slice(0, 2)

    const job = await waitForJob(app, s.admin, await s.startSync({ studentIds: chosen.map((st) => st.id) }))
    expect(job).toMatchObject({ status: 'partial', progress: { done: 4, total: 4 }, counts: { success: 2, failed: 2, skipped: 0 } })
    expect(job.devices.find((d: { deviceId: string }) => d.deviceId === pickyDevice.id)).toMatchObject({ status: 'failed', error: null })
    const failed = (await s.items(job.id, '&status=failed')).items
    expect(failed.map((i) => i.employeeNo).sort()).toEqual(chosen.map((st) => st.employeeNo).sort())
    for (const i of failed) expect(i).toMatchObject({ deviceId: pickyDevice.id, step: 'face', error: { code: 'FACE_REJECTED' } })
    // Both people went on as records: one rejected face did not stop the terminal's share.
    expect(Object.keys(namesOn(picky)).sort()).toEqual(chosen.map((st) => st.employeeNo).sort())
    expect(facesOn(picky)).toEqual({})
    expect(Object.keys(facesOn(good)).sort()).toEqual(chosen.map((st) => st.employeeNo).sort())
    const states = await app.prisma.personDevice.findMany({ where: { deviceId: pickyDevice.id }, select: { state: true, faceOnDevice: true, lastError: true } })
    expect(states).toHaveLength(2)
    for (const st of states) expect(st).toMatchObject({ state: 'failed', faceOnDevice: false, lastError: expect.stringContaining('faceQualityTooLow') })
  })

  it('keeps each student\'s state per device: synced, pending after an edit (also while its terminal is offline), removed', async () => {
    const s = await syncSchool(app)
    const stays = await startTerminal({ index: 18 })
    const leaves = await startTerminal({ index: 19 })
    const kept = await addDevice(app, s.admin, s.school.id, stays)
    const gone = await addDevice(app, s.admin, s.school.id, leaves)
    const [student] = await s.addStudents(1)
    const states = async () => {
      const res = await app.inject({ method: 'GET', url: `${s.base}/students/${student.id}/devices`, headers: s.admin })
      expect(res.statusCode, res.body).toBe(200)
      return Object.fromEntries((res.json().items as Array<{ deviceId: string, syncedVersion: number, currentVersion: number }>).map((pd) => [pd.deviceId, pd]))
    }

    expect(await states()).toEqual({})
    await waitForJob(app, s.admin, await s.startSync())
    const synced = await states()
    for (const id of [kept.id, gone.id]) {
      expect(synced[id]).toMatchObject({ state: 'synced', faceOnDevice: true, lastError: null, attempts: 0, syncedAt: expect.any(String) })
      expect(synced[id].syncedVersion).toBe(synced[id].currentVersion)
    }

    await s.patchStudent(student.id, { firstName: 'Malika' })
    for (const pd of Object.values(await states())) expect(pd).toMatchObject({ state: 'pending', syncedVersion: synced[kept.id].currentVersion, currentVersion: synced[kept.id].currentVersion + 1 })

    await leaves.close()
    const faceCalls = stays.snapshot().requests.filter((r) => r.path.startsWith('/ISAPI/Intelligent/FDLib/')).length
    await waitForJob(app, s.admin, await s.startSync())
    const after = await states()
    expect(after[kept.id]).toMatchObject({ state: 'synced', syncedVersion: synced[kept.id].currentVersion + 1, faceOnDevice: true })
    // A device-level failure leaves the person as it was on that terminal (still there, at the older version), with the error.
    expect(after[gone.id]).toMatchObject({ state: 'pending', syncedVersion: synced[gone.id].currentVersion, attempts: 1, lastError: expect.any(String) })
    // A pending person is still on the device with its face: the edit sent only the record.
    expect(stays.snapshot().requests.filter((r) => r.path.startsWith('/ISAPI/Intelligent/FDLib/')).length).toBe(faceCalls)

    await s.patchStudent(student.id, { status: 'inactive' })
    await waitForJob(app, s.admin, await s.startSync({ deviceIds: [kept.id] }))
    expect((await states())[kept.id]).toMatchObject({ state: 'removed', faceOnDevice: false })

    const other = await syncSchool(app)
    expectProblem(await app.inject({ method: 'GET', url: `${other.base}/students/${student.id}/devices`, headers: other.admin }), 404, 'STUDENT_NOT_FOUND')
  })

  it('a sync that records a version an edit has already overtaken leaves the person pending', async () => {
    const s = await syncSchool(app)
    const device = await addDevice(app, s.admin, s.school.id, await startTerminal({ index: 20 }))
    const [student] = await s.addStudents(1, { photos: false })
    const { version } = await app.prisma.student.update({ where: { id: student.id }, data: { version: { increment: 1 } } })
    const recorded = (syncedVersion: number) =>
      upsertPersonDevice(app.prisma, { studentId: student.id, deviceId: device.id, employeeNo: student.employeeNo, state: 'synced', syncedVersion })
    await recorded(version - 1)
    expect(await app.prisma.personDevice.findFirstOrThrow({ where: { studentId: student.id } })).toMatchObject({ state: 'pending', syncedVersion: version - 1 })
    await recorded(version)
    expect(await app.prisma.personDevice.findFirstOrThrow({ where: { studentId: student.id } })).toMatchObject({ state: 'synced', syncedVersion: version })
  })

  it('sends every student of a share that spans several pages, each once and in order', async () => {
    const s = await syncSchool(app)
    const terminal = await startTerminal({ index: 15, requestLogLimit: 1000 })
    await addDevice(app, s.admin, s.school.id, terminal)
    // Pages hold 50 items, and each next page is read while the one before is sent.
    const students = await s.addStudents(123, { photos: false })

    const job = await waitForJob(app, s.admin, await s.startSync(), 30_000)
    expect(job).toMatchObject({ status: 'succeeded', progress: { done: 123, total: 123 }, counts: { success: 123, failed: 0 } })
    const written = terminal.snapshot().requests.filter((r) => r.status === 200 && r.path.startsWith('/ISAPI/AccessControl/UserInfo/'))
    expect(written).toHaveLength(123)
    expect(terminal.snapshot().users.map((u) => u.employeeNo)).toEqual(students.map((st) => st.employeeNo))
  })

  it('ends with the newest name on every terminal when a student is edited during a sync', async () => {
    const s = await syncSchool(app)
    const terminals = [
      await startTerminal({ index: 9, faults: { latencyUserMs: 60 } }),
      await startTerminal({ index: 10, faults: { latencyUserMs: 60 } }),
    ]
    for (const t of terminals) await addDevice(app, s.admin, s.school.id, t)
    const students = await s.addStudents(8, { photos: false })
    const target = students[6]

    const firstId = await s.startSync()
    // Edit once the run is under way, then ask for a second sync while the first is still running.
    const deadline = Date.now() + 10_000
    while ((await app.prisma.syncJob.findUniqueOrThrow({ where: { id: firstId } })).done < 2) {
      if (Date.now() > deadline) throw new Error('first sync never started')
      await sleep(20)
    }
    // The save starts its own job for every device (syncMode left out).
    const edited = await app.inject({ method: 'PATCH', url: `${s.base}/students/${target.id}`, headers: s.admin, payload: { firstName: 'Newest' } })
    expect(edited.statusCode, edited.body).toBe(200)
    const first = await waitForJob(app, s.admin, firstId)
    expect(first.status).toBe('succeeded')
    expect(await waitForJob(app, s.admin, edited.json().sync.jobId)).toMatchObject({ status: 'succeeded' })
    for (const t of terminals) {
      expect(namesOn(t)[target.employeeNo]).toBe(`Newest ${target.lastName}`)
      expect(t.snapshot().users).toHaveLength(8)
    }
    const { version } = await app.prisma.student.findUniqueOrThrow({ where: { id: target.id } })
    const states = await app.prisma.personDevice.findMany({ where: { studentId: target.id }, select: { state: true, syncedVersion: true } })
    expect(states).toEqual([{ state: 'synced', syncedVersion: version }, { state: 'synced', syncedVersion: version }])
  })

  it('never sends a terminal two requests at once, whatever runs in parallel', async () => {
    const s = await syncSchool(app)
    const terminals = [await startTerminal({ index: 11 }), await startTerminal({ index: 12 }), await startTerminal({ index: 13 })]
    const devices = []
    for (const t of terminals) devices.push(await addDevice(app, s.admin, s.school.id, t))
    await s.addStudents(4)
    const jobIds = await Promise.all([
      s.startSync(),
      s.startSync({ full: true }),
      s.startSync({ photosOnly: true, full: true }),
      s.startSync({ deviceIds: [devices[0].id], full: true }),
      s.startSync({ deviceIds: [devices[1].id, devices[2].id], full: true }),
    ])
    for (const id of jobIds) expect(await waitForJob(app, s.admin, id)).toMatchObject({ status: 'succeeded', counts: { failed: 0 } })
    for (const t of terminals) {
      const snap = t.snapshot()
      expect(snap.users).toHaveLength(4)
      expect(snap.faces).toHaveLength(4)
      expect(snap.maxConcurrentRequests).toBe(1)
    }
  })

  it('refuses devices of another school and teachers', async () => {
    const s = await syncSchool(app)
    const other = await syncSchool(app)
    const foreign = await addDevice(app, other.admin, other.school.id, await startTerminal({ index: 14 }))
    expectProblem(await app.inject({ method: 'POST', url: `${s.base}/sync`, headers: s.admin, payload: { deviceIds: [foreign.id] } }), 400, 'DEVICE_NOT_IN_SCHOOL')
    expectProblem(await app.inject({ method: 'POST', url: `${other.base}/sync`, headers: s.admin, payload: {} }), 404, 'SCHOOL_NOT_FOUND')
    const teacher = (await signedInAs(app, 'TEACHER', s.school.id)).headers
    expectProblem(await app.inject({ method: 'POST', url: `${s.base}/sync`, headers: teacher, payload: {} }), 403, 'FORBIDDEN')
  })
})
