import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { addDevice, faceJpeg, startTerminal } from '../../../test/helpers/terminals.js'

describe('sync smoke', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>

  beforeAll(async () => {
    // Polling once a minute: a job must still start at once, because enqueueing wakes this process's workers.
    app = await buildTestApp({ SYNC_POLL_SECONDS: '60', LOG_LEVEL: 'error' })
    school = await createSchool(app)
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
  })

  it('pushes students with faces to two terminals, then skips them when unchanged', async () => {
    const t1 = await startTerminal({ index: 40 })
    const t2 = await startTerminal({ index: 41 })
    await addDevice(app, admin, school.id, t1)
    await addDevice(app, admin, school.id, t2)
    for (let i = 0; i < 3; i++) {
      const s = await createStudent(app, school.id)
      const res = await app.inject({ method: 'PUT', url: `/api/v1/schools/${school.id}/students/${s.id}/photo`, headers: admin, payload: { imageBase64: (await faceJpeg(200, i + 1)).toString('base64') } })
      expect(res.statusCode).toBe(200)
    }
    const start = await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/sync`, headers: admin, payload: {} })
    expect(start.statusCode, start.body).toBe(202)
    const job = await waitForJob(app, admin, start.json().jobId, 10_000)
    expect(job).toMatchObject({ status: 'succeeded', progress: { done: 6, total: 6 }, counts: { success: 6, failed: 0, skipped: 0 } })
    expect(t1.snapshot().users).toHaveLength(3)
    expect(t2.snapshot().faces).toHaveLength(3)

    const again = await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/sync`, headers: admin, payload: {} })
    const job2 = await waitForJob(app, admin, again.json().jobId, 10_000)
    expect(job2).toMatchObject({ status: 'succeeded', counts: { success: 0, skipped: 6 } })
  })
})
