import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { waitForJob } from '../../../test/helpers/jobs.js'
import { facesOn, namesOn } from '../../../test/helpers/sync-school.js'
import { seedClient } from '../../../test/helpers/terminals.js'
import { schoolWithBystander } from './test/school-with-bystander.js'

describe('device drift', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await buildTestApp({ SYNC_POLL_SECONDS: '0.5', LOG_LEVEL: 'error' })
  })

  it('reports what was changed on the terminal behind our back, and one repair call puts it right', async () => {
    const { s, terminal: t, device, bystander } = await schoolWithBystander(app)
    const [deleted, renamed, faceless, editedInDb, untouched] = await s.addStudents(5)
    const fullName = (st: { firstName: string, lastName: string }) => `${st.firstName} ${st.lastName}`
    expect(await waitForJob(app, s.admin, await s.startSync())).toMatchObject({ status: 'succeeded', counts: { success: 10 } })
    const driftUrl = `${s.base}/devices/${device.id}/drift`
    const drift = async () => {
      const res = await app.inject({ method: 'GET', url: driftUrl, headers: s.admin })
      expect(res.statusCode, res.body).toBe(200)
      return res.json()
    }
    const repair = async (payload: Record<string, unknown>, headers = s.admin) => {
      const res = await app.inject({ method: 'POST', url: `${driftUrl}/repair`, headers, payload })
      expect(res.statusCode, res.body).toBe(202)
      return res.json()
    }
    expect(await drift()).toMatchObject({ inSync: true, counts: { onDevice: 5, students: 5, missing: 0, extra: 0, outdated: 0 } })

    const client = seedClient(t)
    await client.deleteUsers([deleted.employeeNo])
    await client.createUser({ employeeNo: '900001', name: 'Stranger', gender: 'male', valid: { beginTime: '2026-01-01T00:00:00', endTime: '2030-01-01T00:00:00' } })
    await client.modifyUser({ employeeNo: renamed.employeeNo, name: 'Someone Else', gender: 'male', valid: { beginTime: '2026-01-01T00:00:00', endTime: '2037-12-31T23:59:59' } })
    await client.deleteFaces([faceless.employeeNo])
    await s.patchStudent(editedInDb.id, { lastName: 'Renamedova' })
    const namesOnBystander = namesOn(bystander)

    const report = await drift()
    expect(report).toMatchObject({
      deviceId: device.id, inSync: false,
      counts: { onDevice: 5, students: 5, missing: 1, extra: 1, outdated: 3 },
      missing: [{ studentId: deleted.id, employeeNo: deleted.employeeNo, name: fullName(deleted) }],
      extra: [{ employeeNo: '900001', name: 'Stranger', hasFace: false }],
    })
    const reasons = Object.fromEntries(report.outdated.map((o: { employeeNo: string, reasons: string[] }) => [o.employeeNo, o.reasons]))
    expect(reasons).toEqual({
      [renamed.employeeNo]: ['name differs'],
      [faceless.employeeNo]: ['face missing'],
      [editedInDb.employeeNo]: ['name differs', 'record not at the current version'],
    })

    const first = await repair({})
    expect(first.drift).toMatchObject({ missing: 1, outdated: 3, extra: 1 })
    const job = await waitForJob(app, s.admin, first.jobId)
    expect(job).toMatchObject({ type: 'drift_repair', status: 'succeeded', progress: { total: 4 }, counts: { success: 4, failed: 0 } })
    const after = await drift()
    expect(after).toMatchObject({ inSync: false, counts: { missing: 0, outdated: 0, extra: 1 } })
    const names = namesOn(t)
    expect(names[deleted.employeeNo]).toBe(fullName(deleted))
    expect(names[renamed.employeeNo]).toBe(fullName(renamed))
    expect(names[editedInDb.employeeNo]).toBe(`${editedInDb.firstName} Renamedova`)
    expect(names['900001']).toBe('Stranger')
    const faces = facesOn(t)
    expect(Object.keys(faces).sort()).toEqual([deleted, renamed, faceless, editedInDb, untouched].map((st) => st.employeeNo).sort())
    expect(faces[faceless.employeeNo]).toBe(facesOn(bystander)[faceless.employeeNo])

    const keyed = { ...s.admin, 'idempotency-key': 'remove-extra' }
    const second = await repair({ removeExtra: true }, keyed)
    expect(await waitForJob(app, s.admin, second.jobId)).toMatchObject({ status: 'succeeded', progress: { total: 1 }, counts: { success: 1 } })
    // Repeated with the same Idempotency-Key: the same job and report, no new repair.
    expect(await repair({ removeExtra: true }, keyed)).toEqual(second)
    expect(await app.prisma.syncJob.count({ where: { type: 'drift_repair', schoolId: s.school.id } })).toBe(2)
    expect(await drift()).toMatchObject({ inSync: true, counts: { onDevice: 5, missing: 0, extra: 0, outdated: 0 }, missing: [], extra: [], outdated: [] })
    expect(namesOn(t)['900001']).toBeUndefined()
    // The repair touched only the drifting terminal.
    expect(namesOn(bystander)).toEqual(namesOnBystander)
  })
})
