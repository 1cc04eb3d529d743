import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { SimulatedTerminal } from '../../src/simulator/index.js'
import {
  addTerminal, apiClient, createSharedEnvironment, printServerOutputOnFailure, seedSchool, startServerProcess, waitForJobOver,
} from '../helpers/server-process.js'
import { startTerminal } from '../helpers/terminals.js'

const STUDENTS = 40
const SYNC_ENV = { SYNC_SLICE_SECONDS: '1', SYNC_TASK_EXPIRE_SECONDS: '4', SYNC_MAINTENANCE_SECONDS: '1', SYNC_POLL_SECONDS: '0.5' }

/** Requests that reached the terminal's handler (not digest challenges), by operation. */
function deviceWrites (terminal: SimulatedTerminal) {
  const requests = terminal.snapshot().requests.filter((r) => r.status !== 401)
  const of = (method: string, path: string) => requests.filter((r) => r.method === method && r.path.startsWith(path))
  const ok = (rs: typeof requests) => rs.filter((r) => r.status === 200).length
  const record = of('POST', '/ISAPI/AccessControl/UserInfo/Record')
  const modify = of('PUT', '/ISAPI/AccessControl/UserInfo/Modify')
  const faceAdd = of('POST', '/ISAPI/Intelligent/FDLib/FaceDataRecord')
  const faceReplace = of('PUT', '/ISAPI/Intelligent/FDLib/FDSetUp')
  return {
    record: record.length, recordOk: ok(record), modifyOk: ok(modify),
    faceAdd: faceAdd.length, faceAddOk: ok(faceAdd), faceReplaceOk: ok(faceReplace),
  }
}

describe('sync survives kill -9 of the server running it', () => {
  it('resumes on another process and creates each user once', async () => {
    printServerOutputOnFailure()
    const t0 = Date.now()
    const shared = await createSharedEnvironment()
    const serverA = await startServerProcess('A', shared, SYNC_ENV)
    const aReady = Date.now()
    const apiA = await apiClient(serverA)
    const { school, students } = await seedSchool(apiA, STUDENTS)
    const terminal = await startTerminal({ index: 60, requestLogLimit: 10_000, faults: { latencyUserMs: 30, latencyFaceMs: 30 } })
    await addTerminal(apiA, school.id, terminal)

    const { jobId } = await apiA.call('POST', `/schools/${school.id}/sync`, {}, 202)
    const started = Date.now()
    for (;;) {
      const job = await apiA.call('GET', `/jobs/${jobId}`)
      expect(job.progress.done, 'the job ended before the kill').toBeLessThan(job.progress.total)
      if (job.progress.done > 5) break
      await sleep(20)
    }
    await serverA.kill('SIGKILL')
    const killedAt = Date.now()
    const atKill = deviceWrites(terminal)

    const serverB = await startServerProcess('B', shared, SYNC_ENV)
    const bReady = Date.now()
    const apiB = apiA.on(serverB)
    const job = await waitForJobOver(apiB, jobId, 40_000)
    const finished = Date.now()

    expect(job).toMatchObject({ status: 'succeeded', progress: { done: STUDENTS, total: STUDENTS }, counts: { failed: 0 } })
    expect(job.counts.success + job.counts.skipped).toBe(STUDENTS)
    const snapshot = terminal.snapshot()
    expect(snapshot.users.map((u) => u.employeeNo).sort()).toEqual(students.map((s) => s.employeeNo).sort())
    expect(snapshot.faces).toHaveLength(STUDENTS)

    // Each user and face was created exactly once; only the item in flight at the kill may have been
    // sent again, which then answered "exists" and was modified / replaced instead.
    const writes = deviceWrites(terminal)
    expect(atKill.recordOk).toBeGreaterThan(5)
    expect(atKill.recordOk).toBeLessThan(STUDENTS)
    expect(writes).toMatchObject({ recordOk: STUDENTS, faceAddOk: STUDENTS })
    expect(writes.record).toBeLessThanOrEqual(STUDENTS + 1)
    expect(writes.faceAdd).toBeLessThanOrEqual(STUDENTS + 1)
    expect(writes.modifyOk).toBeLessThanOrEqual(1)
    expect(writes.faceReplaceOk).toBeLessThanOrEqual(1)
    expect(snapshot.maxProcessingRequests).toBe(1)

    const items = await apiB.call('GET', `/jobs/${jobId}/items?pageSize=100`)
    expect(items.total).toBe(STUDENTS)
    expect(items.items.filter((i: { status: string }) => i.status === 'success')).toHaveLength(STUDENTS)

    console.log(`A ready in ${aReady - t0} ms, seeded in ${started - aReady} ms; sync ran ${killedAt - started} ms on A; B was ready ${bReady - killedAt} ms after the kill and finished the job ${finished - bReady} ms later; writes ${JSON.stringify(writes)}`)
  }, 60_000)
})
