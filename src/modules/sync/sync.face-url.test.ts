import { describe, expect, it } from 'vitest'
import { buildTestApp, listeningTestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { facesOn, photoSha, syncSchool } from '../../../test/helpers/sync-school.js'
import { addDevice, startTerminal } from '../../../test/helpers/terminals.js'
import { freePort } from '../../../test/helpers/until.js'

describe('FACE_UPLOAD_MODE=url: terminals fetch faces from PUBLIC_BASE_URL', () => {
  it('every face arrives through a signed link the terminal downloads from the server', async () => {
    const { app } = await listeningTestApp({ FACE_UPLOAD_MODE: 'url', LOG_LEVEL: 'error' })
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 40 })
    await addDevice(app, s.admin, s.school.id, t)
    const students = await s.addStudents(2)

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'succeeded', counts: { success: 2, failed: 0 } })
    expect(facesOn(t)).toEqual(Object.fromEntries(await Promise.all(students.map(async (st) => [st.employeeNo, await photoSha(app, st.id)]))))
  })

  it('a terminal that cannot reach PUBLIC_BASE_URL fails each face at the face step with the download error; the records still go', async () => {
    const app = await buildTestApp({ FACE_UPLOAD_MODE: 'url', PUBLIC_BASE_URL: `http://127.0.0.1:${await freePort()}`, LOG_LEVEL: 'error' })
    const s = await syncSchool(app)
    const t = await startTerminal({ index: 41 })
    await addDevice(app, s.admin, s.school.id, t)
    const students = await s.addStudents(2)

    const job = await waitForJob(app, s.admin, await s.startSync())
    expect(job).toMatchObject({ status: 'failed', counts: { success: 0, failed: 2 } })
    const failed = (await s.items(job.id, '&status=failed')).items
    for (const i of failed) expect(i).toMatchObject({ step: 'face', error: { message: expect.stringContaining('urlDownloadFail') } })
    // The records went; only the pictures could not be fetched.
    expect(t.snapshot().users.map((u) => u.employeeNo).sort()).toEqual(students.map((st) => st.employeeNo).sort())
    expect(facesOn(t)).toEqual({})
  })
})
