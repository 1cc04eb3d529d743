import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../generated/prisma/enums.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, signedInAs } from '../../../test/factories/index.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'

const app = await buildTestApp()
const api = '/api/v1'

const HOLIDAY_KEYS = ['createdAt', 'date', 'id', 'name', 'schoolId', 'updatedAt'].sort()
const PAGE_KEYS = ['items', 'page', 'pageSize', 'total'].sort()

type Headers = Record<string, string>
type SchoolRole = Exclude<Role, 'SUPER_ADMIN'>

const day = (ymd: string) => new Date(`${ymd}T00:00:00Z`)
const createHoliday = (schoolId: string, date: string, name = `Holiday ${date}`) =>
  app.prisma.holiday.create({ data: { schoolId, date: day(date), name } })

let schoolA: { id: string }
let schoolB: { id: string }
let superAdmin: Headers
const roleA = {} as Record<SchoolRole, Headers>
let adminB: Headers

beforeAll(async () => {
  schoolA = await createSchool(app)
  schoolB = await createSchool(app)
  superAdmin = (await signedInAs(app, 'SUPER_ADMIN', null)).headers
  for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD'] as const) {
    roleA[role] = (await signedInAs(app, role, schoolA.id)).headers
  }
  adminB = (await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)).headers
})

describe('GET /schools/:schoolId/holidays', () => {
  let school: { id: string }
  let headers: Headers
  beforeAll(async () => {
    school = await createSchool(app)
    headers = (await signedInAs(app, 'GUARD', school.id)).headers
    await createHoliday(school.id, '2025-03-21', 'Navruz')
    await createHoliday(school.id, '2025-01-01', 'New Year')
    await createHoliday(school.id, '2025-09-01', 'Independence Day')
    await createHoliday(school.id, '2025-12-31', 'Year end')
    await createHoliday(schoolB.id, '2025-03-22', 'Other school')
  })

  it('lists the school\'s holidays by date with only allowlisted fields', async () => {
    const res = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays`, headers })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(PAGE_KEYS)
    expect(body).toMatchObject({ page: 1, pageSize: 50, total: 4 })
    expect(body.items.map((h: { date: string }) => h.date)).toEqual(['2025-01-01', '2025-03-21', '2025-09-01', '2025-12-31'])
    expect(body.items[1]).toMatchObject({ name: 'Navruz', schoolId: school.id })
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(HOLIDAY_KEYS)
  })

  it('filters by an inclusive from/to date range and pages', async () => {
    const res = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays?from=2025-03-21&to=2025-09-01`, headers })
    expect(res.json().total).toBe(2)
    expect(res.json().items.map((h: { name: string }) => h.name)).toEqual(['Navruz', 'Independence Day'])

    const from = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays?from=2025-09-02`, headers })
    expect(from.json().items.map((h: { date: string }) => h.date)).toEqual(['2025-12-31'])
    const to = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays?to=2025-01-01`, headers })
    expect(to.json().items.map((h: { date: string }) => h.date)).toEqual(['2025-01-01'])

    const page = await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays?page=2&pageSize=3`, headers })
    expect(page.json()).toMatchObject({ page: 2, pageSize: 3, total: 4 })
    expect(page.json().items.map((h: { date: string }) => h.date)).toEqual(['2025-12-31'])
  })

  it('lets every role of the school and a super admin read', async () => {
    await createHoliday(schoolA.id, '2030-01-01')
    for (const h of [superAdmin, ...Object.values(roleA)]) {
      const res = await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/holidays?from=2030-01-01&to=2030-01-01`, headers: h })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json().total).toBe(1)
    }
  })

  it.each([
    ['from', 'from=yesterday'],
    ['from', 'from=2025-02-30'],
    ['to', 'to=2025-13-01'],
    ['pageSize', 'pageSize=0'],
  ])('rejects an invalid %s', async (field, qs) => {
    expectValidation(await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays?${qs}`, headers }), field)
  })

  it('answers 404 for another school', async () => {
    for (const h of Object.values(roleA)) {
      expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}/holidays`, headers: h }), 404, 'SCHOOL_NOT_FOUND')
    }
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${school.id}/holidays` }), 401, 'UNAUTHORIZED')
  })
})

describe('POST /schools/:schoolId/holidays', () => {
  const url = () => `${api}/schools/${schoolA.id}/holidays`

  it('creates a holiday and writes an audit row', async () => {
    const res = await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { date: '2026-03-21', name: ' Navruz ' } })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(HOLIDAY_KEYS)
    expect(body).toMatchObject({ date: '2026-03-21', name: 'Navruz', schoolId: schoolA.id })
    const row = await app.prisma.holiday.findUniqueOrThrow({ where: { id: body.id } })
    expect(row.date.toISOString()).toBe('2026-03-21T00:00:00.000Z')
    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'holiday', entityId: body.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'create', schoolId: schoolA.id, requestId: res.headers['x-request-id'] })
    expect((audits[0].changes as Record<string, unknown>).date).toEqual({ before: null, after: '2026-03-21' })
  })

  it('strips unknown keys: schoolId and id in the body are ignored', async () => {
    const id = randomUUID()
    const res = await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { id, schoolId: schoolB.id, date: '2026-04-01', name: 'Fools' } })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().id).not.toBe(id)
    expect(res.json().schoolId).toBe(schoolA.id)
    expect(await app.prisma.holiday.count({ where: { schoolId: schoolB.id, date: day('2026-04-01') } })).toBe(0)
  })

  it('answers 409 HOLIDAY_DATE_TAKEN for a second holiday on a date, writing no audit row', async () => {
    await createHoliday(schoolA.id, '2026-05-09', 'Memory day')
    const auditsBefore = await app.prisma.auditLog.count()
    expectProblem(await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload: { date: '2026-05-09', name: 'Again' } }), 409, 'HOLIDAY_DATE_TAKEN')
    expect(await app.prisma.holiday.count({ where: { schoolId: schoolA.id, date: day('2026-05-09') } })).toBe(1)
    expect(await app.prisma.auditLog.count()).toBe(auditsBefore)
    // Another school may have a holiday on that date.
    const res = await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/holidays`, headers: adminB, payload: { date: '2026-05-09', name: 'Memory day' } })
    expect(res.statusCode, res.body).toBe(201)
  })

  it.each([
    ['date', { date: '2026-13-01', name: 'x' }],
    ['date', { date: '2026-02-29', name: 'x' }],
    ['date', { date: '01.01.2026', name: 'x' }],
    ['date', { date: '2026-01-01T00:00:00Z', name: 'x' }],
    ['date', { name: 'x' }],
    ['name', { date: '2026-01-02', name: '   ' }],
  ])('rejects an invalid %s (%j)', async (field, payload) => {
    const before = await app.prisma.holiday.count()
    expectValidation(await app.inject({ method: 'POST', url: url(), headers: roleA.SCHOOL_ADMIN, payload }), field)
    expect(await app.prisma.holiday.count()).toBe(before)
  })

  it('forbids operators, teachers and guards (403)', async () => {
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'POST', url: url(), headers: roleA[role], payload: { date: '2026-06-01', name: 'x' } }), 403, 'FORBIDDEN')
    }
    expect(await app.prisma.holiday.count({ where: { schoolId: schoolA.id, date: day('2026-06-01') } })).toBe(0)
  })

  it('answers 404 for another school', async () => {
    expectProblem(await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/holidays`, headers: roleA.SCHOOL_ADMIN, payload: { date: '2026-06-02', name: 'x' } }), 404, 'SCHOOL_NOT_FOUND')
    expect(await app.prisma.holiday.count({ where: { date: day('2026-06-02') } })).toBe(0)
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'POST', url: url(), payload: { date: '2026-06-03', name: 'x' } }), 401, 'UNAUTHORIZED')
  })
})

describe('PATCH /schools/:schoolId/holidays/:holidayId', () => {
  it('updates a holiday; the audit row holds only the changed fields and the request id', async () => {
    const h = await createHoliday(schoolA.id, '2027-01-01', 'New Year')
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA.SCHOOL_ADMIN, payload: { date: '2027-01-02', name: 'New Year' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(Object.keys(res.json()).sort()).toEqual(HOLIDAY_KEYS)
    expect(res.json()).toMatchObject({ id: h.id, date: '2027-01-02', name: 'New Year' })
    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'holiday', entityId: h.id, action: 'update' } })
    expect(audits).toHaveLength(1)
    expect(audits[0].changes).toEqual({ date: { before: '2027-01-01', after: '2027-01-02' } })
    expect(audits[0]).toMatchObject({ requestId: res.headers['x-request-id'], schoolId: schoolA.id, ip: '127.0.0.1' })
  })

  it('renames only', async () => {
    const h = await createHoliday(schoolA.id, '2027-02-01', 'Old')
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'New' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ date: '2027-02-01', name: 'New' })
  })

  it('answers 409 HOLIDAY_DATE_TAKEN when moving onto a taken date', async () => {
    await createHoliday(schoolA.id, '2027-03-01')
    const h = await createHoliday(schoolA.id, '2027-03-02')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA.SCHOOL_ADMIN, payload: { date: '2027-03-01' } }), 409, 'HOLIDAY_DATE_TAKEN')
    expect((await app.prisma.holiday.findUniqueOrThrow({ where: { id: h.id } })).date.toISOString().slice(0, 10)).toBe('2027-03-02')
    expect(await app.prisma.auditLog.count({ where: { entityId: h.id } })).toBe(0)
  })

  it.each([
    ['date', '2027-04-01', { date: '2027-02-30' }],
    ['name', '2027-04-02', { name: '' }],
    ['holidayId', '2027-04-03', null],
  ])('rejects an invalid %s', async (field, date, payload) => {
    const h = await createHoliday(schoolA.id, date)
    const target = payload === null ? 'not-a-uuid' : h.id
    expectValidation(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${target}`, headers: roleA.SCHOOL_ADMIN, payload: payload ?? { name: 'x' } }), field)
    expect((await app.prisma.holiday.findUniqueOrThrow({ where: { id: h.id } })).updatedAt).toEqual(h.updatedAt)
  })

  it('forbids operators, teachers and guards (403)', async () => {
    const h = await createHoliday(schoolA.id, '2027-05-01', 'Labour')
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA[role], payload: { name: 'x' } }), 403, 'FORBIDDEN')
    }
    expect((await app.prisma.holiday.findUniqueOrThrow({ where: { id: h.id } })).name).toBe('Labour')
  })

  it('answers 404 for another school\'s holiday and changes nothing', async () => {
    const hb = await createHoliday(schoolB.id, '2027-06-01', 'B day')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${hb.id}`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'x' } }), 404, 'HOLIDAY_NOT_FOUND')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolB.id}/holidays/${hb.id}`, headers: roleA.SCHOOL_ADMIN, payload: { name: 'x' } }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${randomUUID()}`, headers: superAdmin, payload: { name: 'x' } }), 404, 'HOLIDAY_NOT_FOUND')
    expect((await app.prisma.holiday.findUniqueOrThrow({ where: { id: hb.id } })).name).toBe('B day')
  })

  it('answers 401 without a token', async () => {
    const h = await createHoliday(schoolA.id, '2027-07-01')
    expectProblem(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, payload: { name: 'x' } }), 401, 'UNAUTHORIZED')
  })
})

describe('DELETE /schools/:schoolId/holidays/:holidayId', () => {
  it('deletes a holiday and writes an audit row', async () => {
    const h = await createHoliday(schoolA.id, '2028-01-01', 'Gone')
    const res = await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA.SCHOOL_ADMIN })
    expect(res.statusCode, res.body).toBe(204)
    expect(res.body).toBe('')
    expect(await app.prisma.holiday.findUnique({ where: { id: h.id } })).toBeNull()
    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'holiday', entityId: h.id } })
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'delete', requestId: res.headers['x-request-id'] })
    expect(audits[0].changes).toMatchObject({ name: { before: 'Gone', after: null }, date: { before: '2028-01-01', after: null } })
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'HOLIDAY_NOT_FOUND')
  })

  it('forbids operators, teachers and guards (403)', async () => {
    const h = await createHoliday(schoolA.id, '2028-02-01')
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: roleA[role] }), 403, 'FORBIDDEN')
    }
    expect(await app.prisma.holiday.findUnique({ where: { id: h.id } })).not.toBeNull()
  })

  it('answers 404 for another school\'s holiday and keeps it', async () => {
    const hb = await createHoliday(schoolB.id, '2028-03-01')
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${hb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'HOLIDAY_NOT_FOUND')
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolB.id}/holidays/${hb.id}`, headers: roleA.SCHOOL_ADMIN }), 404, 'SCHOOL_NOT_FOUND')
    expect(await app.prisma.holiday.findUnique({ where: { id: hb.id } })).not.toBeNull()
  })

  it('rejects a malformed holiday id naming the field', async () => {
    expectValidation(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/42`, headers: roleA.SCHOOL_ADMIN }), 'holidayId')
  })

  it('answers 401 without a token', async () => {
    const h = await createHoliday(schoolA.id, '2028-04-01')
    expectProblem(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${h.id}` }), 401, 'UNAUTHORIZED')
  })
})
