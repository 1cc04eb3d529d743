import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { signedInAs } from '../../../test/factories/index.js'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { namesOn, syncSchool } from '../../../test/helpers/sync-school.js'
import { addDevice, seedClient, startTerminal } from '../../../test/helpers/terminals.js'
import { startSimulatedTerminal } from '../../simulator/index.js'

describe('jobs', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error' })
  })

  const post = (url: string, headers: Record<string, string>, payload: Record<string, unknown> = {}) =>
    app.inject({ method: 'POST', url: `/api/v1${url}`, headers, payload })
  const get = (url: string, headers: Record<string, string>) => app.inject({ method: 'GET', url: `/api/v1${url}`, headers })

  async function waitForProgress (jobId: string, done: number) {
    const deadline = Date.now() + 10_000
    while ((await app.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).done < done) {
      if (Date.now() > deadline) throw new Error(`job ${jobId} never reached ${done} items`)
      await sleep(20)
    }
  }

  it('fails only the offline terminal with DEVICE_UNREACHABLE, and a retry after it returns converges', async () => {
    const s = await syncSchool(app)
    const online = await startTerminal({ index: 1 })
    const gone = await startSimulatedTerminal({ index: 2 })
    const port = gone.port
    await gone.close()
    const up = await addDevice(app, s.admin, s.school.id, online)
    const down = await addDevice(app, s.admin, s.school.id, { ...online, port, host: '127.0.0.1' })
    const students = await s.addStudents(3)

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'partial', progress: { done: 6, total: 6 }, counts: { success: 3, failed: 3, skipped: 0 } })
    expect(job.lastError).toEqual(expect.any(String))
    const shares = Object.fromEntries(job.devices.map((d: { deviceId: string }) => [d.deviceId, d]))
    expect(shares[up.id]).toMatchObject({ status: 'succeeded', error: null, counts: { success: 3, failed: 0 } })
    expect(shares[down.id]).toMatchObject({ status: 'failed', error: { code: 'DEVICE_UNREACHABLE' }, counts: { success: 0, failed: 3 } })
    const failed = await s.items(job.id, '&status=failed')
    expect(failed.total).toBe(3)
    expect(failed.items.map((i) => i.employeeNo).sort()).toEqual(students.map((st) => st.employeeNo).sort())
    for (const i of failed.items) expect(i).toMatchObject({ deviceId: down.id, step: 'device', error: { code: 'DEVICE_UNREACHABLE' } })
    expect((await s.items(job.id, `&deviceId=${up.id}`)).items.every((i) => i.status === 'success')).toBe(true)
    expect(Object.keys(namesOn(online))).toHaveLength(3)

    expectProblem(await post(`/jobs/${job.id}/cancel`, s.admin), 409, 'JOB_FINISHED')
    const back = await startTerminal({ index: 2, port })
    const onlineCalls = online.snapshot().requests.length
    expectProblem(await post(`/jobs/${job.id}/retry`, s.admin, { deviceIds: [up.id] }), 409, 'NOTHING_TO_RETRY')
    const keyed = { ...s.admin, 'idempotency-key': 'retry-down' }
    const retry = await post(`/jobs/${job.id}/retry`, keyed, { deviceIds: [down.id] })
    expect(retry.statusCode, retry.body).toBe(200)
    expect(retry.json()).toMatchObject({ status: 'queued', retryCount: 1, progress: { done: 3, total: 6 }, counts: { success: 3, failed: 0 } })
    const repeated = await post(`/jobs/${job.id}/retry`, keyed, { deviceIds: [down.id] })
    expect(repeated.statusCode, 'a repeated retry answers the first one, not NOTHING_TO_RETRY').toBe(200)
    expect(repeated.json()).toEqual(retry.json())
    expectProblem(await post(`/jobs/${job.id}/retry`, keyed, { deviceIds: [up.id] }), 422, 'IDEMPOTENCY_KEY_REUSED')
    const retried = await waitForJob(app, s.admin, job.id)
    expect(retried).toMatchObject({ status: 'succeeded', retryCount: 1, progress: { done: 6, total: 6 }, counts: { success: 6, failed: 0, skipped: 0 }, lastError: null })
    expect(Object.keys(namesOn(back)).sort()).toEqual(students.map((st) => st.employeeNo).sort())
    expect(back.snapshot().faces).toHaveLength(3)
    // Only the failed items ran again: the healthy terminal was not called.
    expect(online.snapshot().requests.length).toBe(onlineCalls)
    expect((await s.items(job.id, '&status=failed')).total).toBe(0)
    expectProblem(await post(`/jobs/${job.id}/retry`, s.admin), 409, 'NOTHING_TO_RETRY')
  })

  it('spends exactly one login on a terminal with a wrong password and carries on with the others', async () => {
    const s = await syncSchool(app)
    const good = await startTerminal({ index: 3 })
    const bad = await startTerminal({ index: 4 })
    await addDevice(app, s.admin, s.school.id, good)
    const wrong = await addDevice(app, s.admin, s.school.id, bad, { password: 'not-the-password' })
    await s.addStudents(3, { photos: false })

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'partial', counts: { success: 3, failed: 3 } })
    expect(job.devices.find((d: { deviceId: string }) => d.deviceId === wrong.id)).toMatchObject({ status: 'failed', error: { code: 'DEVICE_AUTH_FAILED' } })
    const failed = await s.items(job.id, '&status=failed')
    expect(failed.items.map((i) => [i.deviceId, i.step, i.error?.code])).toEqual(Array(3).fill([wrong.id, 'device', 'DEVICE_AUTH_FAILED']))
    expect(bad.snapshot()).toMatchObject({ failedLogins: 1, lockedUntil: null, users: [] })
    expect(good.snapshot().users).toHaveLength(3)
    expect(good.snapshot().failedLogins).toBe(0)

    // Two retries at once: one runs the failed items, the other is refused (409).
    const both = await Promise.all([post(`/jobs/${job.id}/retry`, s.admin), post(`/jobs/${job.id}/retry`, s.admin)])
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 409])
    expect((await waitForJob(app, s.admin, job.id)).retryCount).toBe(1)
  })

  it('a terminal locked before the sync fails its share with DEVICE_LOCKED without a login; the others carry on', async () => {
    const s = await syncSchool(app)
    const good = await startTerminal({ index: 21 })
    const locked = await startTerminal({ index: 22, lockoutThreshold: 1 })
    await seedClient(locked, 'someone-else-guessing').getDeviceInfo().catch(() => undefined)
    expect(locked.snapshot()).toMatchObject({ failedLogins: 1, lockedUntil: expect.any(String) })
    await addDevice(app, s.admin, s.school.id, good)
    const lockedDevice = await addDevice(app, s.admin, s.school.id, locked)
    await s.addStudents(2, { photos: false })

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'partial', counts: { success: 2, failed: 2 } })
    expect(job.devices.find((d: { deviceId: string }) => d.deviceId === lockedDevice.id)).toMatchObject({ status: 'failed', error: { code: 'DEVICE_LOCKED' } })
    const failed = await s.items(job.id, '&status=failed')
    expect(failed.items.map((i) => [i.deviceId, i.step, i.error?.code])).toEqual(Array(2).fill([lockedDevice.id, 'device', 'DEVICE_LOCKED']))
    expect(locked.snapshot()).toMatchObject({ failedLogins: 1, users: [] })
    expect(good.snapshot().users).toHaveLength(2)
  })

  it('retries busy answers and still succeeds', async () => {
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 5 })
    await addDevice(app, s.admin, s.school.id, t)
    await s.addStudents(2)
    t.setFaults({ busy: 3 })

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'succeeded', counts: { success: 2, failed: 0 } })
    expect(t.snapshot().requests.filter((r) => r.status === 503)).toHaveLength(3)
    expect(t.snapshot().users).toHaveLength(2)
    expect(t.snapshot().faces).toHaveLength(2)
  })

  it('cancels a running job: the rest of its items are not sent', async () => {
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 6, faults: { latencyUserMs: 100 } })
    const device = await addDevice(app, s.admin, s.school.id, t)
    await s.addStudents(16, { photos: false })
    const jobId = await s.startSync()
    await waitForProgress(jobId, 2)

    const keyed = { ...s.admin, 'idempotency-key': 'cancel-1' }
    const cancel = await post(`/jobs/${jobId}/cancel`, keyed)
    expect(cancel.statusCode, cancel.body).toBe(200)
    expect(cancel.json().cancelledAt).toEqual(expect.any(String))
    const job = await waitForJob(app, s.admin, jobId)
    const repeated = await post(`/jobs/${jobId}/cancel`, keyed)
    expect(repeated.statusCode, 'a repeated cancel answers the first one, not JOB_FINISHED').toBe(200)
    expect(repeated.json()).toEqual(cancel.json())
    expect(job.status).toBe('cancelled')
    expect(job.devices).toMatchObject([{ deviceId: device.id, status: 'cancelled' }])
    const cancelled = await s.items(jobId, '&status=cancelled')
    const sent = await s.items(jobId, '&status=success')
    expect(cancelled.total).toBeGreaterThan(0)
    expect(cancelled.items.every((i) => i.error?.code === 'CANCELLED')).toBe(true)
    expect(sent.total + cancelled.total).toBe(16)
    expect(job.progress).toEqual({ done: 16, total: 16 })
    // The device stopped soon after the cancel (the person in flight finishes), well before the end.
    expect(sent.total).toBeLessThan(12)
    expect(t.snapshot().users.length).toBe(sent.total)
    await sleep(300)
    expect(t.snapshot().users.length).toBe(sent.total)
  })

  it('streams progress over Server-Sent Events and ends with the final status', async () => {
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 7, faults: { latencyUserMs: 150 } })
    await addDevice(app, s.admin, s.school.id, t)
    await s.addStudents(10, { photos: false })
    const jobId = await s.startSync()

    const res = await get(`/jobs/${jobId}/events`, s.admin)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    const events = res.body.trim().split('\n\n').filter((e) => !e.startsWith(':')).map((block) => {
      const [eventLine, dataLine] = block.split('\n')
      return { event: eventLine.replace('event: ', ''), data: JSON.parse(dataLine.replace('data: ', '')) }
    })
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.progress.done)
    expect(events.at(-1)).toEqual({ event: 'end', data: { status: 'succeeded' } })
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true)
    expect(progress.length).toBeGreaterThanOrEqual(3)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    expect(progress[0]).toBeLessThan(10)
    expect(new Set(progress).size).toBeGreaterThanOrEqual(2)
    expect(progress.at(-1)).toBe(10)

    // EventSource cannot send headers: a stream token in the query works, an access token there does not.
    const { token } = (await app.inject({ method: 'POST', url: '/api/v1/auth/stream-token', headers: s.admin })).json()
    const viaToken = await app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/events?token=${token}` })
    expect(viaToken.statusCode).toBe(200)
    expect(viaToken.body).toContain('event: end')
    const access = s.admin.authorization.slice('Bearer '.length)
    expect((await app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/events?token=${access}` })).statusCode).toBe(401)
    expect(events.at(-2)?.data).toMatchObject({ id: jobId, status: 'succeeded', devices: [{ status: 'succeeded', counts: { success: 10 } }] })
  })

  it('lists jobs by school, status and type, and hides other schools\' jobs', async () => {
    const s = await syncSchool(app)
    const other = await syncSchool(app)
    const device = await addDevice(app, s.admin, s.school.id, await startTerminal({ index: 8 }))
    await addDevice(app, other.admin, other.school.id, await startTerminal({ index: 9 }))
    await s.addStudents(1, { photos: false })
    const syncJob = await waitForJob(app, s.admin, await s.startSync())
    const clone = await post(`/schools/${s.school.id}/devices/${device.id}/clone`, s.admin, { from: 'database' })
    expect(clone.statusCode, clone.body).toBe(202)
    const cloneJob = await waitForJob(app, s.admin, clone.json().jobId)
    const theirs = await waitForJob(app, other.admin, await other.startSync())

    const ids = async (query: string, headers = s.admin) => {
      const res = await get(`/jobs${query}`, headers)
      expect(res.statusCode, res.body).toBe(200)
      return res.json().items.map((j: { id: string }) => j.id)
    }
    expect(await ids('')).toEqual([cloneJob.id, syncJob.id])
    expect(await ids(`?schoolId=${s.school.id}&type=sync`)).toEqual([syncJob.id])
    expect(await ids('?type=clone_database&status=succeeded')).toEqual([cloneJob.id])
    expect(await ids('?status=failed')).toEqual([])
    expect(await ids(`?schoolId=${other.school.id}`)).toEqual([])
    const superAdmin = (await signedInAs(app, 'SUPER_ADMIN', null)).headers
    expect(await ids(`?schoolId=${other.school.id}`, superAdmin)).toEqual([theirs.id])
    expect(await get(`/jobs/${theirs.id}`, superAdmin)).toHaveProperty('statusCode', 200)

    for (const res of [
      await get(`/jobs/${theirs.id}`, s.admin),
      await get(`/jobs/${theirs.id}/items`, s.admin),
      await get(`/jobs/${theirs.id}/events`, s.admin),
      await post(`/jobs/${theirs.id}/retry`, s.admin),
      await post(`/jobs/${theirs.id}/cancel`, s.admin),
      await get('/jobs/00000000-0000-4000-8000-000000000000', s.admin),
    ]) expectProblem(res, 404, 'JOB_NOT_FOUND')

    const teacher = (await signedInAs(app, 'TEACHER', s.school.id)).headers
    expectProblem(await get(`/jobs/${syncJob.id}`, teacher), 404, 'JOB_NOT_FOUND')
    expect(await ids('', teacher)).toEqual([])
    const operator = (await signedInAs(app, 'OPERATOR', s.school.id)).headers
    expect(await ids('', operator)).toEqual([cloneJob.id, syncJob.id])
    expect((await get(`/jobs/${syncJob.id}`, s.admin)).json()).toMatchObject({ createdBy: { email: expect.stringContaining('school_admin') } })
  })
})
