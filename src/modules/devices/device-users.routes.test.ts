import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { addDevice, faceJpeg, seedUsers, startTerminal } from '../../../test/helpers/terminals.js'
import type { SimulatedTerminalOptions } from '../../simulator/index.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('device users against simulated terminals', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>
  let index = 20

  beforeAll(async () => {
    app = await buildTestApp()
    school = await createSchool(app)
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
  })

  async function setup (options: SimulatedTerminalOptions = {}, employeeNos: string[] = []) {
    const terminal = await startTerminal({ index: index++, ...options })
    const seed = await seedUsers(terminal, employeeNos)
    const device = await addDevice(app, admin, school.id, terminal)
    const users = `/api/v1/schools/${school.id}/devices/${device.id}/users`
    return { terminal, seed, device, users }
  }

  it('pages through 75 users 30 at a time on the device, with total, face flag and the matching student', async () => {
    const nos = Array.from({ length: 75 }, (_, i) => String(5000 + i))
    const { seed, users, terminal } = await setup({}, nos)
    await seed.addFace('5001', { image: await faceJpeg() })
    const student = await createStudent(app, school.id, { employeeNo: '5001', firstName: 'Aziza', lastName: 'Karimova' })

    const first = await app.inject({ method: 'GET', url: `${users}?pageSize=50`, headers: admin })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toMatchObject({ total: 75, page: 1, pageSize: 50 })
    expect(first.json().items.map((u: { employeeNo: string }) => u.employeeNo)).toEqual(nos.slice(0, 50))
    expect(first.json().items[1]).toMatchObject({
      employeeNo: '5001', name: 'Pupil 5001', gender: 'female', hasFace: true,
      student: { id: student.id, firstName: 'Aziza', lastName: 'Karimova' },
      valid: { enable: true, beginTime: '2026-09-01T00:00:00', endTime: '2037-12-31T23:59:59' },
    })
    expect(first.json().items[0]).toMatchObject({ hasFace: false, student: null })

    const last = await app.inject({ method: 'GET', url: `${users}?page=2&pageSize=50`, headers: admin })
    expect(last.json().items.map((u: { employeeNo: string }) => u.employeeNo)).toEqual(nos.slice(50))
    const beyond = await app.inject({ method: 'GET', url: `${users}?page=9&pageSize=50`, headers: admin })
    expect(beyond.json()).toMatchObject({ items: [], total: 75 })

    const searches = terminal.snapshot().requests.filter((r) => r.path.startsWith('/ISAPI/AccessControl/UserInfo/Search?') && r.status === 200)
    expect(searches.length).toBeGreaterThanOrEqual(4)
  })

  it('searches by part of the name or employeeNo across every page of the device', async () => {
    const nos = Array.from({ length: 40 }, (_, i) => String(7000 + i))
    const { users } = await setup({}, nos)
    const res = await app.inject({ method: 'GET', url: `${users}?search=${encodeURIComponent('pupil 703')}`, headers: admin })
    expect(res.json().total).toBe(10)
    expect(res.json().items.map((u: { employeeNo: string }) => u.employeeNo)).toEqual(nos.slice(30, 40))
    const byNo = await app.inject({ method: 'GET', url: `${users}?search=7039&pageSize=5`, headers: admin })
    expect(byNo.json()).toMatchObject({ total: 1, items: [{ employeeNo: '7039' }] })
  })

  it('reads one user, and answers 404 DEVICE_USER_NOT_FOUND for an absent one', async () => {
    const { users } = await setup({}, ['101'])
    expect((await app.inject({ method: 'GET', url: `${users}/101`, headers: admin })).json()).toMatchObject({ employeeNo: '101', name: 'Pupil 101' })
    expectProblem(await app.inject({ method: 'GET', url: `${users}/999`, headers: admin }), 404, 'DEVICE_USER_NOT_FOUND')
  })

  it('proxies the face JPEG exactly as the terminal stores it; 404 when the person has none', async () => {
    const { users, seed, terminal } = await setup({}, ['201', '202'])
    const jpeg = await faceJpeg(200, 7)
    await seed.addFace('201', { image: jpeg })
    const res = await app.inject({ method: 'GET', url: `${users}/201/face`, headers: admin })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('image/jpeg')
    expect(sha256(res.rawPayload)).toBe(terminal.snapshot().faces.find((f) => f.FPID === '201')?.sha256)
    expectProblem(await app.inject({ method: 'GET', url: `${users}/202/face`, headers: admin }), 404, 'DEVICE_USER_FACE_NOT_FOUND')
  })

  it('deletes only with confirm=true, and audits it', async () => {
    const { users, terminal, device } = await setup({}, ['301', '302'])
    expectProblem(await app.inject({ method: 'DELETE', url: `${users}/301`, headers: admin }), 400, 'CONFIRMATION_REQUIRED')
    expectProblem(await app.inject({ method: 'DELETE', url: `${users}/301?confirm=false`, headers: admin }), 400, 'CONFIRMATION_REQUIRED')
    expect(terminal.snapshot().users).toHaveLength(2)

    expect((await app.inject({ method: 'DELETE', url: `${users}/301?confirm=true`, headers: admin })).statusCode).toBe(204)
    expect(terminal.snapshot().users.map((u) => u.employeeNo)).toEqual(['302'])
    expectProblem(await app.inject({ method: 'DELETE', url: `${users}/301?confirm=true`, headers: admin }), 404, 'DEVICE_USER_NOT_FOUND')
    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: device.id, action: 'delete_device_user' } })
    expect(audit.changes).toMatchObject({ employeeNo: { before: '301', after: null }, name: { before: 'Pupil 301' } })
  })

  it('edits in place with Modify: name, gender, validity and a new face', async () => {
    const { users, terminal } = await setup({}, ['401'])
    const face = await faceJpeg(300, 3)
    const res = await app.inject({
      method: 'PATCH', url: `${users}/401`, headers: admin,
      payload: { name: 'Renamed Pupil', gender: 'male', valid: { endTime: '2030-06-30T23:59:59' }, faceImageBase64: face.toString('base64') },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      method: 'modify', faceUpdated: true,
      user: { employeeNo: '401', name: 'Renamed Pupil', gender: 'male', hasFace: true, valid: { beginTime: '2026-09-01T00:00:00', endTime: '2030-06-30T23:59:59' } },
    })
    expect(terminal.snapshot().requests.some((r) => r.path.startsWith('/ISAPI/AccessControl/UserInfo/Modify?') && r.status === 200)).toBe(true)
  })

  it('moves a person to a new employeeNo by creating the new record (with the old face) before deleting the old one', async () => {
    const { users, terminal, seed, device } = await setup({}, ['501'])
    const face = await faceJpeg(220, 5)
    await seed.addFace('501', { image: face })
    const oldSha = terminal.snapshot().faces[0].sha256
    const res = await app.inject({ method: 'PATCH', url: `${users}/501`, headers: admin, payload: { employeeNo: '1501', name: 'Moved' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ method: 'recreate', faceUpdated: false, user: { employeeNo: '1501', name: 'Moved', hasFace: true } })
    const snap = terminal.snapshot()
    expect(snap.users.map((u) => u.employeeNo)).toEqual(['1501'])
    expect(snap.faces).toMatchObject([{ FPID: '1501', sha256: oldSha }])
    const paths = snap.requests.filter((r) => r.status === 200).map((r) => `${r.method} ${r.path.split('?')[0]}`)
    expect(paths.indexOf('POST /ISAPI/AccessControl/UserInfo/Record')).toBeLessThan(paths.lastIndexOf('PUT /ISAPI/AccessControl/UserInfo/Delete'))
    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: device.id, action: 'update_device_user' } })
    expect(audit.changes).toMatchObject({ employeeNo: { before: '501', after: '1501' } })
  })

  it('keeps the old person intact when the new record cannot take the face, and removes the half-made new one', async () => {
    const { users, terminal } = await setup({ maxFaceBytes: 4000 }, ['601'])
    const bigFace = await faceJpeg(400, 9)
    const res = await app.inject({ method: 'PATCH', url: `${users}/601`, headers: admin, payload: { employeeNo: '1601', faceImageBase64: bigFace.toString('base64') } })
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.json().code).toMatch(/^DEVICE_/)
    expect(terminal.snapshot().users.map((u) => u.employeeNo)).toEqual(['601'])
  })

  it('uses SetUp on firmware without Modify, and refuses an in-place edit that would need delete-then-create', async () => {
    const noModify = await setup({ supportsModify: false }, ['701'])
    await app.inject({ method: 'POST', url: `/api/v1/schools/${school.id}/devices/${noModify.device.id}/test-connection`, headers: admin })
    const viaSetUp = await app.inject({ method: 'PATCH', url: `${noModify.users}/701`, headers: admin, payload: { name: 'Via SetUp' } })
    expect(viaSetUp.json()).toMatchObject({ method: 'setUp', user: { name: 'Via SetUp' } })

    const neither = await setup({ supportsModify: false, supportsSetUp: false }, ['801'])
    const refused = await app.inject({ method: 'PATCH', url: `${neither.users}/801`, headers: admin, payload: { name: 'Nope' } })
    expectProblem(refused, 422, 'DEVICE_USER_EDIT_UNSUPPORTED')
    expect(neither.terminal.snapshot().users).toMatchObject([{ employeeNo: '801', name: 'Pupil 801' }])
    const moved = await app.inject({ method: 'PATCH', url: `${neither.users}/801`, headers: admin, payload: { employeeNo: '1801', name: 'Moved' } })
    expect(moved.json()).toMatchObject({ method: 'recreate', user: { employeeNo: '1801', name: 'Moved' } })
  })

  it('refuses a bad photo before touching the terminal, and teachers cannot browse terminals', async () => {
    const { users, terminal } = await setup({}, ['901'])
    const before = terminal.snapshot().requests.length
    const res = await app.inject({ method: 'PATCH', url: `${users}/901`, headers: admin, payload: { faceImageBase64: Buffer.from('not an image').toString('base64') } })
    expectProblem(res, 422, 'PHOTO_INVALID')
    expect(terminal.snapshot().requests.length).toBe(before)
    const teacher = (await signedInAs(app, 'TEACHER', school.id)).headers
    expect((await app.inject({ method: 'GET', url: users, headers: teacher })).statusCode).toBe(403)
  })
})
