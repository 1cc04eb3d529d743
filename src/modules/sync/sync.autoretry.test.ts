import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { namesOn, syncSchool } from '../../../test/helpers/sync-school.js'
import { addDevice, startTerminal } from '../../../test/helpers/terminals.js'
import { until } from '../../../test/helpers/until.js'
import { startSimulatedTerminal } from '../../simulator/index.js'

describe('failed targets are retried later by themselves', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await buildTestApp({ SYNC_AUTO_RETRY_SECONDS: '0.5', SYNC_AUTO_RETRY_MAX: '3', SYNC_TRANSIENT_BACKOFF_MS: '10', LOG_LEVEL: 'error' })
  })

  /** A port where a terminal was and is no longer. */
  async function vacantPort (index: number) {
    const gone = await startSimulatedTerminal({ index })
    await gone.close()
    return gone.port
  }

  const jobRow = (id: string) => app.prisma.syncJob.findUniqueOrThrow({ where: { id } })

  it('a terminal that was offline gets its people once it is back, without anyone pressing retry', async () => {
    const s = await syncSchool(app)
    const port = await vacantPort(31)
    const online = await startTerminal({ index: 30 })
    await addDevice(app, s.admin, s.school.id, online)
    await addDevice(app, s.admin, s.school.id, { ...online, port, host: '127.0.0.1' })
    const students = await s.addStudents(2, { photos: false })

    const jobId = await s.startSync()
    expect(await until(() => jobRow(jobId), (j) => j.finishedAt !== null, 15_000)).toMatchObject({ status: 'partial', retryCount: 0 })
    const back = await startTerminal({ index: 31, port })
    const converged = await until(() => jobRow(jobId), (j) => j.status === 'succeeded', 15_000)
    expect(converged).toMatchObject({ status: 'succeeded', success: 4, failed: 0 })
    expect(converged.retryCount).toBeGreaterThanOrEqual(1)
    expect(Object.keys(namesOn(back)).sort()).toEqual(students.map((st) => st.employeeNo).sort())
  })

  it('stops after SYNC_AUTO_RETRY_MAX tries, and never retries a wrong password by itself', async () => {
    const s = await syncSchool(app)
    const port = await vacantPort(33)
    const locked = await startTerminal({ index: 32 })
    const wrong = await addDevice(app, s.admin, s.school.id, locked, { password: 'not-the-password' })
    await addDevice(app, s.admin, s.school.id, { ...locked, port, host: '127.0.0.1' })
    await s.addStudents(2, { photos: false })
    const wrongItems = () => app.prisma.syncJobItem.findMany({ where: { jobId, deviceId: wrong.id }, select: { status: true, errorCode: true, finishedAt: true }, orderBy: { id: 'asc' } })

    const jobId = await s.startSync()
    await until(() => jobRow(jobId), (j) => j.finishedAt !== null, 15_000)
    const firstRun = await wrongItems()
    expect(firstRun.map((i) => i.errorCode)).toEqual(['DEVICE_AUTH_FAILED', 'DEVICE_AUTH_FAILED'])
    const gaveUp = await until(() => jobRow(jobId), (j) => j.retryCount === 3 && j.finishedAt !== null, 20_000)
    expect(gaveUp).toMatchObject({ status: 'failed', failed: 4, retryCount: 3 })
    // A fourth try would be due 0.5 s × 2³ after the third ended.
    await sleep(4500)
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', retryCount: 3 })
    expect(locked.snapshot().failedLogins).toBe(1)
    expect(await wrongItems(), 'the wrong password\'s items were not run again').toEqual(firstRun)
    const job = await waitForJob(app, s.admin, jobId)
    const codes = job.devices.map((d: { error: { code: string } | null }) => d.error?.code).sort()
    expect(codes).toEqual(['DEVICE_AUTH_FAILED', 'DEVICE_UNREACHABLE'])
  })

  it('never replays an old removal after the student was reactivated: only the newest save reaches the terminal', async () => {
    const s = await syncSchool(app)
    const port = await vacantPort(37)
    await addDevice(app, s.admin, s.school.id, { ...(await startTerminal({ index: 36 })), port, host: '127.0.0.1' })
    const [student] = await s.addStudents(1, { photos: false })
    const save = async (status: string) => {
      const res = await app.inject({ method: 'PATCH', url: `${s.base}/students/${student.id}`, headers: s.admin, payload: { status } })
      expect(res.statusCode, res.body).toBe(200)
      const jobId = res.json().sync.jobId as string
      expect(await until(() => jobRow(jobId), (j) => j.finishedAt !== null, 15_000)).toMatchObject({ status: 'failed' })
      return jobId
    }
    const removal = await save('inactive')
    const reactivation = await save('active')
    const removalRetries = (await jobRow(removal)).retryCount

    const back = await startTerminal({ index: 37, port })
    expect(await until(() => jobRow(reactivation), (j) => j.status === 'succeeded', 15_000)).toMatchObject({ status: 'succeeded' })
    expect(Object.keys(namesOn(back))).toEqual([student.employeeNo])
    // Long enough for every back-off the removal has left.
    await sleep(4500)
    expect(Object.keys(namesOn(back))).toEqual([student.employeeNo])
    expect(await jobRow(removal)).toMatchObject({ status: 'failed', retryCount: removalRetries })
  })

  it('leaves an atomic save that a terminal refused alone: it was undone on purpose', async () => {
    const s = await syncSchool(app)
    const port = await vacantPort(34)
    const device = await addDevice(app, s.admin, s.school.id, { ...(await startTerminal({ index: 35 })), port, host: '127.0.0.1' })
    const res = await app.inject({
      method: 'POST', url: `${s.base}/students`, headers: s.admin,
      payload: { firstName: 'Aziza', lastName: 'Karimova', gender: 'female', atomic: true, syncMode: 'selected', targetDeviceIds: [device.id] },
    })
    expectProblem(res, 502, 'SYNC_ATOMIC_FAILED')
    const job = await app.prisma.syncJob.findFirstOrThrow({ where: { schoolId: s.school.id }, orderBy: { createdAt: 'asc' } })
    expect(job.finishedAt).not.toBeNull()
    await sleep(1500)
    expect((await jobRow(job.id)).retryCount).toBe(0)
  })
})
