import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  addTerminal, apiClient, createSharedEnvironment, printServerOutputOnFailure, seedSchool, startServerProcess, waitForJobOver, type ApiClient,
} from '../helpers/server-process.js'
import { startTerminal } from '../helpers/terminals.js'

const STUDENTS = 10
const SYNC_ENV = { SYNC_SLICE_SECONDS: '0.5', SYNC_POLL_SECONDS: '0.5', SYNC_CONCURRENCY: '4' }

describe('two server processes on one database', () => {
  let apiA: ApiClient
  let apiB: ApiClient
  let seeded: Awaited<ReturnType<typeof seedSchool>>
  const schoolUrl = () => `/schools/${seeded.school.id}`
  const sync = (api: ApiClient, body: object) => api.call<{ jobId: string }>('POST', `${schoolUrl()}/sync`, body, 202)
  const employeeNos = () => seeded.students.map((s) => s.employeeNo).sort()

  beforeAll(async () => {
    const shared = await createSharedEnvironment()
    const [serverA, serverB] = await Promise.all([startServerProcess('A', shared, SYNC_ENV), startServerProcess('B', shared, SYNC_ENV)])
    apiA = await apiClient(serverA)
    apiB = apiA.on(serverB)
    seeded = await seedSchool(apiA, STUDENTS)
  })

  it('never talk to one terminal at the same time, whichever started the jobs', async () => {
    printServerOutputOnFailure()
    const terminals = await Promise.all([61, 62].map((index) => startTerminal({ index, faults: { latencyUserMs: 5, latencyFaceMs: 5 } })))
    const [first, second] = await Promise.all(terminals.map((t) => addTerminal(apiA, seeded.school.id, t)))
    const both = [first.id, second.id]

    const started = Date.now()
    // Started through both processes at once, so shares of one terminal are picked up by either.
    const jobIds = (await Promise.all([
      sync(apiA, { full: true, deviceIds: both }), sync(apiB, { full: true, deviceIds: both }),
      sync(apiA, { full: true, deviceIds: [first.id] }), sync(apiB, { photosOnly: true, full: true, deviceIds: both }),
    ])).map((r) => r.jobId)
    const jobs = await Promise.all(jobIds.map((id, i) => waitForJobOver(i % 2 ? apiB : apiA, id, 40_000)))
    const elapsed = Date.now() - started

    for (const job of jobs) {
      expect(job.status, JSON.stringify(job)).toBe('succeeded')
      expect(job.progress.done).toBe(job.progress.total)
      expect(job.counts.success).toBe(job.progress.total)
    }
    for (const terminal of terminals) {
      const snapshot = terminal.snapshot()
      expect(snapshot.users.map((u) => u.employeeNo).sort()).toEqual(employeeNos())
      expect(snapshot.faces).toHaveLength(STUDENTS)
      expect(snapshot).toMatchObject({ maxConcurrentRequests: 1, maxProcessingRequests: 1 })
    }
    console.log(`${jobs.length} jobs (${jobs.reduce((n, j) => n + j.progress.total, 0)} items) over 2 processes and 2 terminals in ${elapsed} ms`)
  }, 60_000)

  it('wait for a running sync before reading the terminal themselves (drift checks from both)', async () => {
    printServerOutputOnFailure()
    // Slow enough that the sync spans several slices, between which the drift checks get the terminal.
    const terminal = await startTerminal({ index: 63, faults: { latencyUserMs: 60, latencyFaceMs: 60 } })
    const device = await addTerminal(apiA, seeded.school.id, terminal)
    const { jobId } = await sync(apiA, { full: true, deviceIds: [device.id] })
    const stop = new AbortController()
    // Started while the sync runs (it needs ≥ 10 × 120 ms), from both processes.
    const checking = async (api: ApiClient) => {
      let checks = 0
      while (!stop.signal.aborted) {
        await api.call('GET', `${schoolUrl()}/devices/${device.id}/drift`)
        checks++
        await sleep(100)
      }
      return checks
    }
    const loops = [checking(apiA), checking(apiB)]
    const job = await waitForJobOver(apiB, jobId, 40_000).finally(() => stop.abort())
    const checks = await Promise.all(loops)

    expect(job.status, JSON.stringify(job)).toBe('succeeded')
    expect(checks.every((n) => n >= 1), `drift checks per process: ${checks}`).toBe(true)
    expect(terminal.snapshot().users.map((u) => u.employeeNo).sort()).toEqual(employeeNos())
    expect(terminal.snapshot()).toMatchObject({ maxConcurrentRequests: 1, maxProcessingRequests: 1 })
  }, 60_000)
})
