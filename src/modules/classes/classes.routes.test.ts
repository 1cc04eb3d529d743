import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import type { Role } from '../../generated/prisma/enums.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'

const app = await buildTestApp()
const api = '/api/v1'

const CLASS_KEYS = ['createdAt', 'endTime', 'grade', 'id', 'name', 'schoolId', 'startTime', 'studentCount', 'updatedAt'].sort()
const PAGE_KEYS = ['items', 'page', 'pageSize', 'total'].sort()

type Headers = Record<string, string>
type SchoolRole = Exclude<Role, 'SUPER_ADMIN'>

const ids = (res: LightMyRequestResponse) => res.json().items.map((c: { id: string }) => c.id)

let schoolA: { id: string }
let schoolB: { id: string }
let superAdmin: Headers
const roleA = {} as Record<SchoolRole, Headers>
let teacherA: { id: string, headers: Headers }
let adminB: Headers

beforeAll(async () => {
  schoolA = await createSchool(app)
  schoolB = await createSchool(app)
  superAdmin = (await signedInAs(app, 'SUPER_ADMIN', null)).headers
  for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD'] as const) {
    const signed = await signedInAs(app, role, schoolA.id)
    roleA[role] = signed.headers
    if (role === 'TEACHER') teacherA = { id: signed.user.id, headers: signed.headers }
  }
  adminB = (await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)).headers
})

describe('GET /schools/:schoolId/classes', () => {
  it('lists the school\'s classes ordered by grade then name, with active student counts', async () => {
    const school = await createSchool(app)
    const { headers } = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
    const c9 = await createClass(app, school.id, { name: '9-A', grade: 9 })
    const c1b = await createClass(app, school.id, { name: '1-B', grade: 1 })
    const c1a = await createClass(app, school.id, { name: '1-A', grade: 1, endTime: '13:00' })
    await createClass(app, schoolB.id, { name: '1-A', grade: 1 })
    await createStudent(app, school.id, { classId: c1a.id })
    await createStudent(app, school.id, { classId: c1a.id })
    await createStudent(app, school.id, { classId: c1a.id, status: 'inactive' })
    await createStudent(app, school.id, { classId: c1a.id, deletedAt: new Date() })

    const res = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/classes`, headers })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(PAGE_KEYS)
    expect(body).toMatchObject({ page: 1, pageSize: 50, total: 3 })
    expect(ids(res)).toEqual([c1a.id, c1b.id, c9.id])
    expect(body.items[0]).toMatchObject({ name: '1-A', grade: 1, startTime: '08:00', endTime: '13:00', studentCount: 2, schoolId: school.id })
    expect(body.items[1]).toMatchObject({ studentCount: 0, endTime: null })
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(CLASS_KEYS)

    const page2 = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/classes?page=2&pageSize=2`, headers })
    expect(page2.json()).toMatchObject({ page: 2, pageSize: 2, total: 3 })
    expect(ids(page2)).toEqual([c9.id])
  })

  it('lets every role of the school read; teachers see only their assigned classes', async () => {
    const school = await createSchool(app)
    const a = await createClass(app, school.id, { name: 'A', grade: 1 })
    const b = await createClass(app, school.id, { name: 'B', grade: 2 })
    const other = await createClass(app, schoolB.id, { name: 'C', grade: 1 })
    for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'GUARD'] as const) {
      const { headers } = await signedInAs(app, role, school.id)
      const res = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/classes`, headers })
      expect(res.statusCode).toBe(200)
      expect(ids(res)).toEqual([a.id, b.id])
    }
    const teacher = await signedInAs(app, 'TEACHER', school.id)
    const none = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/classes`, headers: teacher.headers })
    expect(none.json()).toMatchObject({ items: [], total: 0 })

    await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: b.id } })
    // An assignment to another school's class must never leak it.
    await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: other.id } })
    const mine = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/classes`, headers: teacher.headers })
    expect(mine.json()).toMatchObject({ total: 1 })
    expect(ids(mine)).toEqual([b.id])
  })

  it('rejects bad paging naming the field', async () => {
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes?pageSize=201`, headers: roleA.SCHOOL_ADMIN }), 'pageSize')
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools/nope/classes`, headers: roleA.SCHOOL_ADMIN }), 'schoolId')
  })

  it('answers 404 for another school', async () => {
    for (const headers of Object.values(roleA)) {
      expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}/classes`, headers }), 404, 'SCHOOL_NOT_FOUND')
    }
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${randomUUID()}/classes`, headers: superAdmin }), 404, 'SCHOOL_NOT_FOUND')
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes` }), 401, 'UNAUTHORIZED')
  })
})

describe('POST /schools/:schoolId/classes', () => {
  const url = () => `${api}/schools/${schoolA.id}/classes`

  it('creates a class and writes an audit row', async () => {
    const res = await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { name: '  5-A ', grade: 5, startTime: '08:30', endTime: '14:00' } })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(CLASS_KEYS)
    expect(body).toMatchObject({ name: '5-A', grade: 5, startTime: '08:30', endTime: '14:00', schoolId: schoolA.id, studentCount: 0 })
    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'class', entityId: body.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'create', schoolId: schoolA.id, requestId: res.headers['x-request-id'] })
    expect((audits[0].changes as Record<string, unknown>).name).toEqual({ before: null, after: '5-A' })
  })

  it('lets a super admin create a class in any school; endTime is optional', async () => {
    const res = await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/classes`, headers: superAdmin, payload: { name: 'SA-1', grade: 0, startTime: '00:00' } })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({ schoolId: schoolB.id, endTime: null, grade: 0 })
  })

  it('strips unknown keys: a schoolId or id in the body is ignored', async () => {
    const id = randomUUID()
    const res = await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { id, schoolId: schoolB.id, name: 'MA-1', grade: 3, startTime: '08:00', studentCount: 99, createdAt: '2000-01-01T00:00:00Z' } })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body.id).not.toBe(id)
    expect(body).toMatchObject({ schoolId: schoolA.id, studentCount: 0 })
    expect(await app.prisma.class.count({ where: { schoolId: schoolB.id, name: 'MA-1' } })).toBe(0)
  })

  it.each([
    ['startTime', { startTime: '24:00' }],
    ['startTime', { startTime: '8:00' }],
    ['startTime', { startTime: '08:60' }],
    ['endTime', { endTime: '7:30' }],
    ['endTime', { startTime: '09:00', endTime: '08:00' }],
    ['endTime', { startTime: '09:00', endTime: '09:00' }],
    ['grade', { grade: 13 }],
    ['grade', { grade: 1.5 }],
    ['name', { name: '  ' }],
  ])('rejects an invalid %s (%j)', async (field, overrides) => {
    const name = `V-${randomUUID().slice(0, 6)}`
    const res = await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { name, grade: 5, startTime: '08:00', ...overrides } })
    expectValidation(res, field)
    expect(await app.prisma.class.count({ where: { schoolId: schoolA.id, name } })).toBe(0)
  })

  it('rejects a missing startTime', async () => {
    expectValidation(await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { name: 'x', grade: 1 } }), 'startTime')
  })

  it('answers 409 CLASS_NAME_TAKEN for a duplicate name in the school, but allows it in another school', async () => {
    await createClass(app, schoolA.id, { name: 'DUP-1' })
    const auditsBefore = await app.prisma.auditLog.count()
    expectProblem(await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { name: 'DUP-1', grade: 1, startTime: '08:00' } }), 409, 'CLASS_NAME_TAKEN')
    expect(await app.prisma.auditLog.count()).toBe(auditsBefore)
    const res = await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/classes`, headers: adminB, payload: { name: 'DUP-1', grade: 1, startTime: '08:00' } })
    expect(res.statusCode, res.body).toBe(201)
  })

  it('forbids operators, teachers and guards (403)', async () => {
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'POST', url: url(), headers: roleA[role], payload: { name: `R-${role}`, grade: 1, startTime: '08:00' } }), 403, 'FORBIDDEN')
    }
    expect(await app.prisma.class.count({ where: { name: { startsWith: 'R-' } } })).toBe(0)
  })

  it('answers 404 for another school', async () => {
    expectProblem(await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/classes`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'X-B', grade: 1, startTime: '08:00' } }), 404, 'SCHOOL_NOT_FOUND')
    expect(await app.prisma.class.count({ where: { name: 'X-B' } })).toBe(0)
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'POST', url: url(), payload: { name: 'x', grade: 1, startTime: '08:00' } }), 401, 'UNAUTHORIZED')
  })
})

describe('GET /schools/:schoolId/classes/:classId', () => {
  it('answers one class with only allowlisted fields', async () => {
    const c = await createClass(app, schoolA.id, { name: 'ONE-1', endTime: '12:00' })
    await createStudent(app, schoolA.id, { classId: c.id })
    for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'GUARD'] as const) {
      const res = await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA[role] })
      expect(res.statusCode, res.body).toBe(200)
      expect(Object.keys(res.json()).sort()).toEqual(CLASS_KEYS)
      expect(res.json()).toMatchObject({ id: c.id, name: 'ONE-1', endTime: '12:00', studentCount: 1 })
    }
  })

  it('answers a teacher only its assigned classes', async () => {
    const mine = await createClass(app, schoolA.id)
    const notMine = await createClass(app, schoolA.id)
    await app.prisma.teacherClass.create({ data: { teacherId: teacherA.id, classId: mine.id } })
    const ok = await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${mine.id}`, headers: teacherA.headers })
    expect(ok.statusCode).toBe(200)
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${notMine.id}`, headers: teacherA.headers }), 404, 'CLASS_NOT_FOUND')
  })

  it('answers 404 for another school\'s class, through either school', async () => {
    const cb = await createClass(app, schoolB.id)
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'CLASS_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${cb.id}`, headers: superAdmin }), 404, 'CLASS_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${randomUUID()}`, headers: superAdmin }), 404, 'CLASS_NOT_FOUND')
  })

  it('rejects a malformed class id naming the field', async () => {
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/xyz`, headers: roleA.SCHOOL_ADMIN }), 'classId')
  })

  it('answers 401 without a token', async () => {
    const c = await createClass(app, schoolA.id)
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${c.id}` }), 401, 'UNAUTHORIZED')
  })
})

describe('PATCH /schools/:schoolId/classes/:classId', () => {
  it('updates a class; the audit row holds only the changed fields and the request id', async () => {
    const c = await createClass(app, schoolA.id, { name: 'P-1', grade: 5, startTime: '08:00', endTime: '13:00' })
    await createStudent(app, schoolA.id, { classId: c.id })
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'P-2', startTime: '08:30', grade: 5 } })
    expect(res.statusCode, res.body).toBe(200)
    expect(Object.keys(res.json()).sort()).toEqual(CLASS_KEYS)
    expect(res.json()).toMatchObject({ id: c.id, name: 'P-2', startTime: '08:30', endTime: '13:00', grade: 5, studentCount: 1 })

    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'class', entityId: c.id, action: 'update' } })
    expect(audits).toHaveLength(1)
    expect(audits[0].changes).toEqual({
      name: { before: 'P-1', after: 'P-2' },
      startTime: { before: '08:00', after: '08:30' },
    })
    expect(audits[0].requestId).toBe(res.headers['x-request-id'])
    expect(audits[0].schoolId).toBe(schoolA.id)
  })

  it('clears endTime with null', async () => {
    const c = await createClass(app, schoolA.id, { endTime: '13:00' })
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN, payload: { endTime: null } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().endTime).toBeNull()
  })

  it.each([
    ['startTime', { startTime: '24:00' }],
    ['startTime', { startTime: '8:00' }],
    ['endTime', { endTime: '25:00' }],
    ['endTime', { startTime: '10:00', endTime: '09:59' }],
    ['endTime', { endTime: '07:00' }],
    ['endTime', { startTime: '13:30' }],
    ['grade', { grade: -1 }],
    ['name', { name: '' }],
  ])('rejects an invalid %s (%j) against the stored times and changes nothing', async (field, payload) => {
    const c = await createClass(app, schoolA.id, { startTime: '08:00', endTime: '13:00' })
    expectValidation(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN, payload }), field)
    const row = await app.prisma.class.findUniqueOrThrow({ where: { id: c.id } })
    expect(row).toMatchObject({ startTime: '08:00', endTime: '13:00', updatedAt: c.updatedAt })
    expect(await app.prisma.auditLog.count({ where: { entityId: c.id } })).toBe(0)
  })

  it('answers 409 CLASS_NAME_TAKEN when renaming onto another class', async () => {
    await createClass(app, schoolA.id, { name: 'TAKEN-1' })
    const c = await createClass(app, schoolA.id, { name: 'FREE-1' })
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'TAKEN-1' } }), 409, 'CLASS_NAME_TAKEN')
    expect((await app.prisma.class.findUniqueOrThrow({ where: { id: c.id } })).name).toBe('FREE-1')
    expect(await app.prisma.auditLog.count({ where: { entityId: c.id } })).toBe(0)
  })

  it('cannot move a class to another school (schoolId is stripped)', async () => {
    const c = await createClass(app, schoolA.id)
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN, payload: { schoolId: schoolB.id, id: randomUUID(), grade: 7 } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ id: c.id, schoolId: schoolA.id, grade: 7 })
    expect((await app.prisma.class.findUniqueOrThrow({ where: { id: c.id } })).schoolId).toBe(schoolA.id)
  })

  it('forbids operators, teachers (even of that class) and guards (403)', async () => {
    const c = await createClass(app, schoolA.id, { grade: 5 })
    await app.prisma.teacherClass.create({ data: { teacherId: teacherA.id, classId: c.id } })
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA[role], payload: { grade: 6 } }), 403, 'FORBIDDEN')
    }
    expect((await app.prisma.class.findUniqueOrThrow({ where: { id: c.id } })).grade).toBe(5)
  })

  it('answers 404 for another school\'s class and changes nothing', async () => {
    const cb = await createClass(app, schoolB.id, { grade: 5 })
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN, payload: { grade: 6 } }), 404, 'CLASS_NOT_FOUND')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolB.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN, payload: { grade: 6 } }), 404, 'SCHOOL_NOT_FOUND')
    expect((await app.prisma.class.findUniqueOrThrow({ where: { id: cb.id } })).grade).toBe(5)
  })

  it('answers 401 without a token', async () => {
    const c = await createClass(app, schoolA.id)
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, payload: { grade: 1 } }), 401, 'UNAUTHORIZED')
  })
})

describe('DELETE /schools/:schoolId/classes/:classId', () => {
  it('deletes an empty class, its teacher assignments, and writes an audit row', async () => {
    const c = await createClass(app, schoolA.id, { name: 'DEL-1' })
    await app.prisma.teacherClass.create({ data: { teacherId: teacherA.id, classId: c.id } })
    const res = await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN })
    expect(res.statusCode, res.body).toBe(204)
    expect(res.body).toBe('')
    expect(await app.prisma.class.findUnique({ where: { id: c.id } })).toBeNull()
    expect(await app.prisma.teacherClass.count({ where: { classId: c.id } })).toBe(0)
    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'class', entityId: c.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'delete', requestId: res.headers['x-request-id'] })
    expect((audits[0].changes as Record<string, unknown>).name).toEqual({ before: 'DEL-1', after: null })
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'CLASS_NOT_FOUND')
  })

  it('answers 409 CLASS_NOT_EMPTY while the class has students, and writes no audit row', async () => {
    const c = await createClass(app, schoolA.id)
    await createStudent(app, schoolA.id, { classId: c.id, status: 'inactive' })
    const body = expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN }), 409, 'CLASS_NOT_EMPTY')
    expect(body.students).toBe(1)
    expect(await app.prisma.class.findUnique({ where: { id: c.id } })).not.toBeNull()
    expect(await app.prisma.auditLog.count({ where: { entityId: c.id } })).toBe(0)
  })

  it('lets a class whose students were all deleted go', async () => {
    const c = await createClass(app, schoolA.id)
    const s = await createStudent(app, schoolA.id, { classId: c.id, deletedAt: new Date() })
    const res = await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA.SCHOOL_ADMIN })
    expect(res.statusCode, res.body).toBe(204)
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: s.id } })).classId).toBeNull()
  })

  it('forbids operators, teachers and guards (403)', async () => {
    const c = await createClass(app, schoolA.id)
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${c.id}`, headers: roleA[role] }), 403, 'FORBIDDEN')
    }
    expect(await app.prisma.class.findUnique({ where: { id: c.id } })).not.toBeNull()
  })

  it('answers 404 for another school\'s class and keeps it', async () => {
    const cb = await createClass(app, schoolB.id)
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'CLASS_NOT_FOUND')
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolB.id}/classes/${cb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'SCHOOL_NOT_FOUND')
    expect(await app.prisma.class.findUnique({ where: { id: cb.id } })).not.toBeNull()
  })

  it('rejects a malformed class id naming the field', async () => {
    expectValidation(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/1`, headers: roleA.SCHOOL_ADMIN }), 'classId')
  })

  it('answers 401 without a token', async () => {
    const c = await createClass(app, schoolA.id)
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${c.id}` }), 401, 'UNAUTHORIZED')
  })
})
