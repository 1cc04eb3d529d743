import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../generated/prisma/enums.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, createUser, login, signedInAs } from '../../../test/factories/index.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'

const app = await buildTestApp()
const api = '/api/v1'

const SCHOOL_KEYS = [
  'absenceCutoffMinutes', 'address', 'code', 'createdAt', 'email', 'id', 'lateThresholdMinutes',
  'name', 'phone', 'timezone', 'updatedAt', 'weekendDays',
].sort()
const PAGE_KEYS = ['items', 'page', 'pageSize', 'total'].sort()

type Headers = Record<string, string>

const validSchool = (overrides: Record<string, unknown> = {}) => ({
  name: 'Tashkent School 1',
  code: `TS-${randomUUID().slice(0, 8)}`,
  timezone: 'Asia/Tashkent',
  ...overrides,
})

let schoolA: { id: string, code: string }
let schoolB: { id: string, code: string }
let superAdmin: Headers
const roleA = {} as Record<Exclude<Role, 'SUPER_ADMIN'>, Headers>
let adminB: Headers

beforeAll(async () => {
  schoolA = await createSchool(app, { name: 'Alpha school' })
  schoolB = await createSchool(app, { name: 'Beta school' })
  superAdmin = (await signedInAs(app, 'SUPER_ADMIN', null)).headers
  for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD'] as const) {
    roleA[role] = (await signedInAs(app, role, schoolA.id)).headers
  }
  adminB = (await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)).headers
})

describe('GET /schools', () => {
  it('lists every active school for a super admin, ordered by name, paged', async () => {
    const gone = await createSchool(app, { name: 'Aaa deleted', deletedAt: new Date() })
    const expected = await app.prisma.school.findMany({ where: { deletedAt: null }, orderBy: [{ name: 'asc' }, { id: 'asc' }] })
    expect(expected.length).toBeGreaterThanOrEqual(2)

    const res = await app.inject({ method: 'GET', url: `${api}/schools`, headers: superAdmin })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(PAGE_KEYS)
    expect(body.page).toBe(1)
    expect(body.pageSize).toBe(50)
    expect(body.total).toBe(expected.length)
    expect(body.items.map((s: { id: string }) => s.id)).toEqual(expected.map((s) => s.id))
    expect(body.items.map((s: { id: string }) => s.id)).not.toContain(gone.id)

    const page2 = await app.inject({ method: 'GET', url: `${api}/schools?page=2&pageSize=1`, headers: superAdmin })
    expect(page2.statusCode).toBe(200)
    expect(page2.json()).toMatchObject({ page: 2, pageSize: 1, total: expected.length })
    expect(page2.json().items.map((s: { id: string }) => s.id)).toEqual([expected[1].id])
  })

  it('shows a school user only its own school', async () => {
    for (const headers of Object.values(roleA)) {
      const res = await app.inject({ method: 'GET', url: `${api}/schools`, headers })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ total: 1, items: [{ id: schoolA.id }] })
    }
    const res = await app.inject({ method: 'GET', url: `${api}/schools`, headers: adminB })
    expect(res.json().items.map((s: { id: string }) => s.id)).toEqual([schoolB.id])
  })

  it('shows a school user without a school nothing (not a server error)', async () => {
    const orphan = await createUser(app, 'OPERATOR', null)
    const { headers } = await login(app, orphan.email)
    const res = await app.inject({ method: 'GET', url: `${api}/schools`, headers })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ items: [], page: 1, pageSize: 50, total: 0 })
  })

  it('answers only allowlisted fields', async () => {
    const res = await app.inject({ method: 'GET', url: `${api}/schools`, headers: superAdmin })
    for (const item of res.json().items) expect(Object.keys(item).sort()).toEqual(SCHOOL_KEYS)
  })

  it('rejects a bad page size naming the field', async () => {
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools?pageSize=0`, headers: superAdmin }), 'pageSize')
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools?page=abc`, headers: superAdmin }), 'page')
  })

  it('answers 401 without a valid token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools` }), 401, 'UNAUTHORIZED')
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools`, headers: { authorization: 'Bearer not-a-jwt' } }), 401, 'UNAUTHORIZED')
  })
})

describe('POST /schools', () => {
  it('creates a school with defaults and writes an audit row', async () => {
    const payload = validSchool({ weekendDays: [6, 0, 6], address: '  Main st 1 ', phone: '', email: 'info@school.test' })
    const res = await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(SCHOOL_KEYS)
    expect(body).toMatchObject({
      name: payload.name, code: payload.code, timezone: 'Asia/Tashkent',
      lateThresholdMinutes: 15, absenceCutoffMinutes: 180, weekendDays: [0, 6],
      address: 'Main st 1', phone: null, email: 'info@school.test',
    })
    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: body.id } })
    expect(row.code).toBe(payload.code)

    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'school', entityId: body.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'create', schoolId: body.id, requestId: res.headers['x-request-id'], ip: '127.0.0.1' })
    expect((audits[0].changes as Record<string, unknown>).code).toEqual({ before: null, after: payload.code })
  })

  it('strips unknown and server-owned keys (no mass assignment)', async () => {
    const id = randomUUID()
    const payload = validSchool({ id, nextEmployeeNo: 1, deletedAt: new Date().toISOString(), createdAt: '2000-01-01T00:00:00.000Z', isAdmin: true })
    const res = await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body.id).not.toBe(id)
    expect(Object.keys(body).sort()).toEqual(SCHOOL_KEYS)
    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: body.id } })
    expect(row.nextEmployeeNo).toBe(1000)
    expect(row.deletedAt).toBeNull()
    expect(row.createdAt.getUTCFullYear()).toBeGreaterThan(2000)
  })

  it.each([
    ['timezone', { timezone: 'Mars/Base' }],
    ['timezone', { timezone: '+05:00' }],
    ['timezone', { timezone: '' }],
    ['code', { code: 'has spaces!' }],
    ['name', { name: '   ' }],
    ['lateThresholdMinutes', { lateThresholdMinutes: -1 }],
    ['absenceCutoffMinutes', { absenceCutoffMinutes: 0 }],
    ['weekendDays.0', { weekendDays: [7] }],
    ['email', { email: 'not-an-email' }],
  ])('rejects an invalid %s', async (field, overrides) => {
    const before = await app.prisma.school.count()
    expectValidation(await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload: validSchool(overrides) }), field)
    expect(await app.prisma.school.count()).toBe(before)
  })

  it('rejects a missing required field', async () => {
    expectValidation(await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload: { name: 'x', code: 'NO-TZ' } }), 'timezone')
  })

  it('answers 409 SCHOOL_CODE_TAKEN for a duplicate code, writing no audit row', async () => {
    const auditsBefore = await app.prisma.auditLog.count()
    const res = await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload: validSchool({ code: schoolA.code }) })
    expectProblem(res, 409, 'SCHOOL_CODE_TAKEN')
    expect(await app.prisma.school.count({ where: { code: schoolA.code } })).toBe(1)
    expect(await app.prisma.auditLog.count()).toBe(auditsBefore)
  })

  it('forbids school users from creating schools', async () => {
    for (const headers of [...Object.values(roleA), adminB]) {
      expectProblem(await app.inject({ method: 'POST', url: `${api}/schools`, headers, payload: validSchool() }), 403, 'FORBIDDEN')
    }
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'POST', url: `${api}/schools`, payload: validSchool() }), 401, 'UNAUTHORIZED')
  })
})

describe('GET /schools/:schoolId', () => {
  it('answers the school to a super admin and to every role of the school', async () => {
    for (const headers of [superAdmin, ...Object.values(roleA)]) {
      const res = await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}`, headers })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ id: schoolA.id, code: schoolA.code })
      expect(Object.keys(res.json()).sort()).toEqual(SCHOOL_KEYS)
    }
  })

  it('answers 404 for another school, a missing school and a deleted school', async () => {
    for (const headers of Object.values(roleA)) {
      expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}`, headers }), 404, 'SCHOOL_NOT_FOUND')
    }
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${randomUUID()}`, headers: superAdmin }), 404, 'SCHOOL_NOT_FOUND')
    const deleted = await createSchool(app, { deletedAt: new Date() })
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${deleted.id}`, headers: superAdmin }), 404, 'SCHOOL_NOT_FOUND')
  })

  it('rejects a malformed id naming the field', async () => {
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools/not-a-uuid`, headers: superAdmin }), 'schoolId')
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}` }), 401, 'UNAUTHORIZED')
  })
})

describe('PATCH /schools/:schoolId', () => {
  it('lets the school admin change settings; the audit row holds only the changed fields', async () => {
    const school = await createSchool(app, { name: 'Old name', lateThresholdMinutes: 15 })
    const { headers, user } = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
    const res = await app.inject({
      method: 'PATCH', url: `${api}/schools/${school.id}`, headers,
      payload: { name: 'New name', lateThresholdMinutes: 20, timezone: school.timezone, weekendDays: [0] },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(Object.keys(res.json()).sort()).toEqual(SCHOOL_KEYS)
    expect(res.json()).toMatchObject({ id: school.id, name: 'New name', lateThresholdMinutes: 20, code: school.code })

    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'school', entityId: school.id, action: 'update' } })
    expect(audits).toHaveLength(1)
    expect(audits[0].changes).toEqual({
      name: { before: 'Old name', after: 'New name' },
      lateThresholdMinutes: { before: 15, after: 20 },
    })
    expect(audits[0]).toMatchObject({
      actorId: user.id, actorEmail: user.email, schoolId: school.id, ip: '127.0.0.1',
      requestId: res.headers['x-request-id'],
    })
  })

  it('lets a super admin change any school, including its code', async () => {
    const school = await createSchool(app)
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin, payload: { code: `NEW-${school.code}`, address: 'Somewhere' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ code: `NEW-${school.code}`, address: 'Somewhere' })
  })

  it('clears optional text with an empty string or null', async () => {
    const school = await createSchool(app, { address: 'A', phone: '123', email: 'a@b.test' })
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin, payload: { address: '', phone: null, email: null } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ address: null, phone: null, email: null })
  })

  it('strips server-owned keys (no mass assignment)', async () => {
    const school = await createSchool(app)
    const res = await app.inject({
      method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin,
      payload: { id: randomUUID(), nextEmployeeNo: 1, deletedAt: new Date().toISOString(), name: 'Renamed' },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().id).toBe(school.id)
    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })
    expect(row).toMatchObject({ name: 'Renamed', nextEmployeeNo: 1000, deletedAt: null })
  })

  it.each([
    ['timezone', { timezone: 'Mars/Base' }],
    ['lateThresholdMinutes', { lateThresholdMinutes: 601 }],
    ['weekendDays.0', { weekendDays: [-1] }],
    ['name', { name: '' }],
    ['code', { code: 'x' }],
  ])('rejects an invalid %s and changes nothing', async (field, payload) => {
    const school = await createSchool(app)
    expectValidation(await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin, payload }), field)
    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })
    expect(row.updatedAt).toEqual(school.updatedAt)
  })

  it('answers 409 SCHOOL_CODE_TAKEN when the new code is taken, changing nothing', async () => {
    const school = await createSchool(app)
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin, payload: { code: schoolB.code, name: 'Changed' } })
    expectProblem(res, 409, 'SCHOOL_CODE_TAKEN')
    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })
    expect(row).toMatchObject({ code: school.code, name: school.name })
    expect(await app.prisma.auditLog.count({ where: { entityId: school.id } })).toBe(0)
  })

  it('forbids operators, teachers and guards of the school (403)', async () => {
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, headers: roleA[role], payload: { name: 'Hacked' } }), 403, 'FORBIDDEN')
    }
    expect((await app.prisma.school.findUniqueOrThrow({ where: { id: schoolA.id } })).name).toBe('Alpha school')
  })

  it('answers 404 to an admin of another school and changes nothing', async () => {
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, headers: adminB, payload: { name: 'Hacked' } }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${randomUUID()}`, headers: superAdmin, payload: { name: 'x' } }), 404, 'SCHOOL_NOT_FOUND')
    expect((await app.prisma.school.findUniqueOrThrow({ where: { id: schoolA.id } })).name).toBe('Alpha school')
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, payload: { name: 'x' } }), 401, 'UNAUTHORIZED')
  })
})

describe('DELETE /schools/:schoolId', () => {
  it('soft-deletes the school, releases its code and writes an audit row', async () => {
    const school = await createSchool(app)
    const res = await app.inject({ method: 'DELETE', url: `${api}/schools/${school.id}`, headers: superAdmin })
    expect(res.statusCode, res.body).toBe(204)
    expect(res.body).toBe('')

    const row = await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })
    expect(row.deletedAt).not.toBeNull()
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${school.id}`, headers: superAdmin }), 404, 'SCHOOL_NOT_FOUND')
    const list = await app.inject({ method: 'GET', url: `${api}/schools?pageSize=200`, headers: superAdmin })
    expect(list.json().items.map((s: { id: string }) => s.id)).not.toContain(school.id)

    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'school', entityId: school.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'delete', requestId: res.headers['x-request-id'] })
    expect((audits[0].changes as Record<string, unknown>).code).toEqual({ before: school.code, after: null })

    const again = await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin, payload: validSchool({ code: school.code }) })
    expect(again.statusCode, again.body).toBe(201)

    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${school.id}`, headers: superAdmin }), 404, 'SCHOOL_NOT_FOUND')
  })

  it('forbids every school role from deleting its own school (403)', async () => {
    for (const headers of Object.values(roleA)) {
      expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}`, headers }), 403, 'FORBIDDEN')
    }
    expect((await app.prisma.school.findUniqueOrThrow({ where: { id: schoolA.id } })).deletedAt).toBeNull()
  })

  it('answers 404 for another school', async () => {
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}`, headers: adminB }), 404, 'SCHOOL_NOT_FOUND')
    expect((await app.prisma.school.findUniqueOrThrow({ where: { id: schoolA.id } })).deletedAt).toBeNull()
  })

  it('rejects a malformed id naming the field', async () => {
    expectValidation(await app.inject({ method: 'DELETE', url: `${api}/schools/123`, headers: superAdmin }), 'schoolId')
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}` }), 401, 'UNAUTHORIZED')
  })
})
