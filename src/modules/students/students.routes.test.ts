import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, createUser, login, signedInAs } from '../../../test/factories/index.js'

const app = await buildTestApp()
const api = '/api/v1'

const STUDENT_KEYS = [
  'classId', 'createdAt', 'employeeNo', 'fatherName', 'firstName', 'gender', 'id', 'lastName',
  'parentPhone', 'photoUrl', 'schoolId', 'status', 'updatedAt',
].sort()
const PAGE_KEYS = ['items', 'page', 'pageSize', 'total'].sort()

type Headers = Record<string, string>
interface StudentBody { id: string, employeeNo: string, firstName: string, lastName: string, classId: string | null, status: string, [key: string]: unknown }

const studentsUrl = (schoolId: string) => `${api}/schools/${schoolId}/students`
const studentUrl = (schoolId: string, studentId: string) => `${api}/schools/${schoolId}/students/${studentId}`

function expectProblem (res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json()
  expect(body.code).toBe(code)
  expect(body.status).toBe(status)
  expect(body.requestId).toBe(res.headers['x-request-id'])
  return body
}

function expectValidation (res: LightMyRequestResponse, field: string) {
  const body = expectProblem(res, 400, 'VALIDATION_FAILED')
  expect(body.errors.map((e: { field: string }) => e.field)).toContain(field)
  return body
}

function expectStudent (res: LightMyRequestResponse, status = 200): StudentBody {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json()
  expect(Object.keys(body).sort()).toEqual(STUDENT_KEYS)
  return body
}

/** A create or update answer: the student plus `sync`, null here since these schools have no devices. */
function expectSaved (res: LightMyRequestResponse, status = 200): StudentBody {
  expect(res.statusCode, res.body).toBe(status)
  const { sync, ...body } = res.json()
  expect(sync).toBeNull()
  expect(Object.keys(body).sort()).toEqual(STUDENT_KEYS)
  return body
}

function expectPage (res: LightMyRequestResponse): { items: StudentBody[], total: number, page: number, pageSize: number } {
  expect(res.statusCode, res.body).toBe(200)
  const body = res.json()
  expect(Object.keys(body).sort()).toEqual(PAGE_KEYS)
  for (const item of body.items) expect(Object.keys(item).sort()).toEqual(STUDENT_KEYS)
  return body
}

/** A school with two classes and a signed-in user of every role. */
async function setupSchool () {
  const school = await createSchool(app)
  const classA = await createClass(app, school.id)
  const classB = await createClass(app, school.id)
  const admin = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
  const operator = await signedInAs(app, 'OPERATOR', school.id)
  const teacher = await signedInAs(app, 'TEACHER', school.id)
  const guard = await signedInAs(app, 'GUARD', school.id)
  await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: classA.id } })
  return { school, classA, classB, admin: admin.headers, operator: operator.headers, teacher: teacher.headers, guard: guard.headers, adminUser: admin.user, operatorUser: operator.user }
}
type SchoolSetup = Awaited<ReturnType<typeof setupSchool>>

const newStudent = (overrides: Record<string, unknown> = {}) => ({
  firstName: 'Ali',
  lastName: `Karimov-${randomUUID().slice(0, 6)}`,
  gender: 'male',
  ...overrides,
})

async function create (s: SchoolSetup, body: Record<string, unknown>, headers: Headers = s.operator) {
  return app.inject({ method: 'POST', url: studentsUrl(s.school.id), headers, payload: body })
}

async function created (s: SchoolSetup, body: Record<string, unknown> = {}) {
  return expectSaved(await create(s, newStudent(body)), 201)
}

const auditRows = (entityId: string) =>
  app.prisma.auditLog.findMany({ where: { entity: 'student', entityId }, orderBy: { createdAt: 'asc' } })

let a: SchoolSetup
let b: SchoolSetup
let superAdmin: Headers

beforeAll(async () => {
  a = await setupSchool()
  b = await setupSchool()
  superAdmin = (await signedInAs(app, 'SUPER_ADMIN', null)).headers
})

describe('POST /schools/:schoolId/students', () => {
  it('creates a student with every field, the first employeeNo of the sequence and an audit row', async () => {
    const s = await setupSchool()
    const res = await create(s, {
      firstName: '  Aziza ', lastName: 'Rahimova', fatherName: 'Karimovna', gender: 'female',
      classId: s.classA.id, parentPhone: '+998 (90) 123-45-67',
    })
    const body = expectSaved(res, 201)
    expect(body).toMatchObject({
      schoolId: s.school.id, classId: s.classA.id, employeeNo: '1000', firstName: 'Aziza', lastName: 'Rahimova',
      fatherName: 'Karimovna', gender: 'female', parentPhone: '+998 (90) 123-45-67', status: 'active', photoUrl: null,
    })
    expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt)

    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: body.id } })
    expect(row).toMatchObject({ schoolId: s.school.id, employeeNo: '1000', firstName: 'Aziza', deletedAt: null, photoUrl: null })

    const audits = await auditRows(body.id)
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ action: 'create', schoolId: s.school.id, actorId: s.operatorUser.id, actorEmail: s.operatorUser.email })
    expect(audits[0].changes).toMatchObject({ firstName: { before: null, after: 'Aziza' }, employeeNo: { before: null, after: '1000' } })
  })

  it('takes only the minimal fields and defaults the rest', async () => {
    const body = await created(a, { fatherName: undefined })
    expect(body).toMatchObject({ classId: null, fatherName: null, parentPhone: null, status: 'active', photoUrl: null })
  })

  it('lets a school admin and a super admin create, but not a teacher or a guard (403)', async () => {
    await created(a)
    expectSaved(await create(a, newStudent(), a.admin), 201)
    expectSaved(await create(a, newStudent(), superAdmin), 201)
    const before = await app.prisma.student.count({ where: { schoolId: a.school.id } })
    expectProblem(await create(a, newStudent(), a.teacher), 403, 'FORBIDDEN')
    expectProblem(await create(a, newStudent(), a.guard), 403, 'FORBIDDEN')
    expect(await app.prisma.student.count({ where: { schoolId: a.school.id } })).toBe(before)
  })

  it('ignores fields outside the allowlist (schoolId, id, photoUrl, version, deletedAt)', async () => {
    const fakeId = randomUUID()
    const body = await created(a, {
      id: fakeId, schoolId: b.school.id, photoUrl: '/uploads/student-faces/evil.jpg', photoVersion: 7,
      version: 99, deletedAt: new Date().toISOString(), createdAt: '2000-01-01T00:00:00.000Z', passwordHash: 'x',
    })
    expect(body.id).not.toBe(fakeId)
    expect(body.schoolId).toBe(a.school.id)
    expect(body.photoUrl).toBeNull()
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: body.id } })
    expect(row).toMatchObject({ schoolId: a.school.id, photoUrl: null, photoVersion: 0, version: 1, deletedAt: null })
    expect(row.createdAt.getFullYear()).toBeGreaterThan(2000)
  })

  it.each([
    ['firstName', { firstName: undefined }],
    ['firstName', { firstName: '   ' }],
    ['lastName', { lastName: 'x'.repeat(101) }],
    ['gender', { gender: 'other' }],
    ['classId', { classId: 'not-a-uuid' }],
    ['parentPhone', { parentPhone: 'call me maybe' }],
    ['status', { status: 'deleted' }],
    ['employeeNo', { employeeNo: '0123' }],
    ['employeeNo', { employeeNo: '12a' }],
    ['employeeNo', { employeeNo: 1234 }],
    ['allowDuplicateName', { allowDuplicateName: 'yes' }],
  ])('answers 400 naming %s for %j', async (field, overrides) => {
    const before = await app.prisma.student.count()
    expectValidation(await create(a, newStudent(overrides)), field)
    expect(await app.prisma.student.count()).toBe(before)
  })

  it('answers 400 CLASS_NOT_FOUND naming classId for a class of another school', async () => {
    const body = expectProblem(await create(a, newStudent({ classId: b.classA.id })), 400, 'CLASS_NOT_FOUND')
    expect(body.errors).toEqual([expect.objectContaining({ field: 'classId' })])
  })

  it('answers 401 without a token or with a bad one', async () => {
    expectProblem(await app.inject({ method: 'POST', url: studentsUrl(a.school.id), payload: newStudent() }), 401, 'UNAUTHORIZED')
    expectProblem(await create(a, newStudent(), { authorization: 'Bearer not.a.token' }), 401, 'UNAUTHORIZED')
  })

  it('answers 404 for another school, and creates nothing there', async () => {
    const before = await app.prisma.student.count({ where: { schoolId: b.school.id } })
    expectProblem(await app.inject({ method: 'POST', url: studentsUrl(b.school.id), headers: a.admin, payload: newStudent() }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'POST', url: studentsUrl(randomUUID()), headers: a.admin, payload: newStudent() }), 404, 'SCHOOL_NOT_FOUND')
    expect(await app.prisma.student.count({ where: { schoolId: b.school.id } })).toBe(before)
  })
})

describe('employeeNo', () => {
  it('comes from a per-school sequence starting at 1000', async () => {
    const s = await setupSchool()
    const t = await setupSchool()
    const numbers = []
    for (let i = 0; i < 3; i++) numbers.push((await created(s)).employeeNo)
    expect(numbers).toEqual(['1000', '1001', '1002'])
    expect((await created(t)).employeeNo).toBe('1000')
  })

  it('accepts an explicit free number without moving the sequence', async () => {
    const s = await setupSchool()
    expect((await created(s, { employeeNo: '77' })).employeeNo).toBe('77')
    expect((await created(s)).employeeNo).toBe('1000')
    // The same explicit number is fine in another school.
    expect((await created(b, { employeeNo: '77' })).employeeNo).toBe('77')
  })

  it('skips numbers that were given explicitly', async () => {
    const s = await setupSchool()
    await created(s, { employeeNo: '1001' })
    await created(s, { employeeNo: '1003' })
    const auto = []
    for (let i = 0; i < 3; i++) auto.push((await created(s)).employeeNo)
    expect(auto).toEqual(['1000', '1002', '1004'])
  })

  it('answers 409 EMPLOYEE_NO_TAKEN for a number in use, naming the field, and creates nothing', async () => {
    const s = await setupSchool()
    const first = await created(s)
    const before = await app.prisma.student.count({ where: { schoolId: s.school.id } })
    const body = expectProblem(await create(s, newStudent({ employeeNo: first.employeeNo })), 409, 'EMPLOYEE_NO_TAKEN')
    expect(body.errors).toEqual([expect.objectContaining({ field: 'employeeNo' })])
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(before)
  })

  it('never reuses the number of a deleted student, automatically or explicitly', async () => {
    const s = await setupSchool()
    const gone = await created(s)
    expect(gone.employeeNo).toBe('1000')
    expect((await app.inject({ method: 'DELETE', url: studentUrl(s.school.id, gone.id), headers: s.operator })).statusCode).toBe(204)
    expectProblem(await create(s, newStudent({ employeeNo: '1000' })), 409, 'EMPLOYEE_NO_TAKEN')
    expect((await created(s)).employeeNo).toBe('1001')
  })

  it('skips a deleted student\'s explicit number in the sequence too', async () => {
    const s = await setupSchool()
    const explicit = await created(s, { employeeNo: '1000' })
    await app.inject({ method: 'DELETE', url: studentUrl(s.school.id, explicit.id), headers: s.operator })
    expect((await created(s)).employeeNo).toBe('1001')
  })

  it('gives concurrent creates distinct consecutive numbers', async () => {
    const s = await setupSchool()
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => create(s, newStudent({ classId: i % 2 ? s.classA.id : s.classB.id }))))
    const numbers = results.map((r) => expectSaved(r, 201).employeeNo)
    expect(new Set(numbers).size).toBe(8)
    expect(numbers.map(Number).sort((x, y) => x - y)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007])
  })

  it('lets only one of two concurrent creates with the same explicit number win', async () => {
    const s = await setupSchool()
    const results = await Promise.all([create(s, newStudent({ employeeNo: '4242' })), create(s, newStudent({ employeeNo: '4242' }))])
    const statuses = results.map((r) => r.statusCode).sort()
    expect(statuses).toEqual([201, 409])
    expectProblem(results.find((r) => r.statusCode === 409)!, 409, 'EMPLOYEE_NO_TAKEN')
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id, employeeNo: '4242' } })).toBe(1)
  })

  it('never answers 409 to a create without a number racing one that asks for the next number explicitly', async () => {
    const s = await setupSchool()
    for (let i = 0; i < 10; i++) {
      const { nextEmployeeNo } = await app.prisma.school.findUniqueOrThrow({ where: { id: s.school.id } })
      const [explicit, auto] = await Promise.all([create(s, newStudent({ employeeNo: String(nextEmployeeNo) })), create(s, newStudent())])
      const autoNo = expectSaved(auto, 201).employeeNo
      if (explicit.statusCode === 201) {
        expect(expectSaved(explicit, 201).employeeNo).toBe(String(nextEmployeeNo))
        expect(autoNo).not.toBe(String(nextEmployeeNo))
      } else {
        expectProblem(explicit, 409, 'EMPLOYEE_NO_TAKEN')
        expect(autoNo).toBe(String(nextEmployeeNo))
      }
    }
  })

  it('cannot be changed by PATCH', async () => {
    const student = await created(a)
    const res = await app.inject({ method: 'PATCH', url: studentUrl(a.school.id, student.id), headers: a.operator, payload: { employeeNo: '999999', firstName: 'Vali' } })
    const body = expectSaved(res)
    expect(body.employeeNo).toBe(student.employeeNo)
    expect(body.firstName).toBe('Vali')
  })
})

describe('duplicate names in a class', () => {
  it('answers 409 STUDENT_DUPLICATE_NAME for the same first and last name in any case, and creates nothing', async () => {
    const s = await setupSchool()
    const first = await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id })
    const res = await create(s, newStudent({ firstName: 'DILNOZA', lastName: ' yusupova ', classId: s.classA.id }))
    const body = expectProblem(res, 409, 'STUDENT_DUPLICATE_NAME')
    expect(body.existingStudentId).toBe(first.id)
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(1)
    expect(await app.prisma.auditLog.count({ where: { schoolId: s.school.id, entity: 'student' } })).toBe(1)
  })

  it('saves the duplicate when the request says allowDuplicateName: true', async () => {
    const s = await setupSchool()
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id })
    const twin = await created(s, { firstName: 'dilnoza', lastName: 'YUSUPOVA', classId: s.classA.id, allowDuplicateName: true })
    expect(twin.classId).toBe(s.classA.id)
  })

  it('allows the same name in another class or without a class; a different father name does not matter', async () => {
    const s = await setupSchool()
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id, fatherName: 'Aka' })
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classB.id })
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova' })
    expectProblem(await create(s, newStudent({ firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id, fatherName: 'Other' })), 409, 'STUDENT_DUPLICATE_NAME')
  })

  it('lets only one of concurrent creates of the same name in a class through', async () => {
    const s = await setupSchool()
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) =>
      create(s, newStudent({ firstName: 'Sardor', lastName: i % 2 ? 'Tursunov' : 'TURSUNOV', classId: s.classA.id }))))
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409])
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(1)
  })

  it('does not count a deleted student', async () => {
    const s = await setupSchool()
    const gone = await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id })
    await app.inject({ method: 'DELETE', url: studentUrl(s.school.id, gone.id), headers: s.operator })
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id })
  })

  it('applies on PATCH: renaming to or moving next to a namesake is a 409 unless allowed', async () => {
    const s = await setupSchool()
    await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classA.id })
    const other = await created(s, { firstName: 'Malika', lastName: 'Yusupova', classId: s.classA.id })
    const mover = await created(s, { firstName: 'Dilnoza', lastName: 'Yusupova', classId: s.classB.id })
    const patch = (id: string, payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: studentUrl(s.school.id, id), headers: s.operator, payload })

    expectProblem(await patch(other.id, { firstName: 'dilnoza' }), 409, 'STUDENT_DUPLICATE_NAME')
    expectProblem(await patch(mover.id, { classId: s.classA.id }), 409, 'STUDENT_DUPLICATE_NAME')
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: mover.id } })).classId).toBe(s.classB.id)
    expect(expectSaved(await patch(mover.id, { classId: s.classA.id, allowDuplicateName: true })).classId).toBe(s.classA.id)
    // A student never clashes with itself, e.g. when only the case of its name changes.
    expect(expectSaved(await patch(other.id, { firstName: 'MALIKA' })).firstName).toBe('MALIKA')
  })
})

describe('GET /schools/:schoolId/students', () => {
  let s: SchoolSetup
  const list = (query: Record<string, string | number> = {}, headers: Headers = s.operator, schoolId = s.school.id) =>
    app.inject({ method: 'GET', url: studentsUrl(schoolId), headers, query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) })
  const names = (body: { items: StudentBody[] }) => body.items.map((i) => `${i.firstName} ${i.lastName}`)

  beforeAll(async () => {
    s = await setupSchool()
    const people: Array<Record<string, unknown>> = [
      { firstName: 'Ali', lastName: 'Valiyev', fatherName: 'Karimovich', classId: s.classA.id },
      { firstName: 'Bobur', lastName: 'Aliyev', classId: s.classA.id, status: 'inactive' },
      { firstName: 'Zarina', lastName: 'Rashidova', gender: 'female', classId: s.classB.id },
      { firstName: 'Aziz', lastName: 'Qodirov', fatherName: 'Alievich', classId: s.classB.id },
      { firstName: 'Kamola', lastName: 'Nazarova', gender: 'female' },
      { firstName: 'Ali', lastName: 'Valiyev', classId: s.classB.id },
    ]
    for (const p of people) await created(s, { ...p, lastName: p.lastName })
    await created(s, { firstName: 'Imported', lastName: 'Early', employeeNo: '5' })
    await created(s, { firstName: 'Imported', lastName: 'Late', employeeNo: '999' })
    await created(s, { firstName: 'Imported', lastName: 'Big', employeeNo: '10000' })
    const gone = await created(s, { firstName: 'Deleted', lastName: 'Valiyev' })
    await app.inject({ method: 'DELETE', url: studentUrl(s.school.id, gone.id), headers: s.operator })
    await createStudent(app, b.school.id, { firstName: 'Ali', lastName: 'Valiyev' })
  })

  it('pages through every current student of the school, by last name then first name', async () => {
    const body = expectPage(await list())
    expect(body).toMatchObject({ page: 1, pageSize: 50, total: 9 })
    expect(names(body)).toEqual([
      'Bobur Aliyev', 'Imported Big', 'Imported Early', 'Imported Late', 'Kamola Nazarova', 'Aziz Qodirov',
      'Zarina Rashidova', 'Ali Valiyev', 'Ali Valiyev',
    ])
    expect(body.items.every((i) => i.schoolId === s.school.id)).toBe(true)
  })

  it('breaks ties by id so that pages never repeat or skip a student', async () => {
    const full = expectPage(await list({ pageSize: 200 })).items.map((i) => i.id)
    const twins = expectPage(await list({ search: 'ali valiyev' })).items
    expect(twins.map((t) => t.id)).toEqual(twins.map((t) => t.id).sort())
    const paged: string[] = []
    for (let page = 1; page <= 5; page++) {
      const body = expectPage(await list({ page, pageSize: 2 }))
      expect(body).toMatchObject({ page, pageSize: 2, total: 9 })
      expect(body.items.length).toBe(page < 5 ? 2 : 1)
      paged.push(...body.items.map((i) => i.id))
    }
    expect(paged).toEqual(full)
    expect(expectPage(await list({ page: 6, pageSize: 2 })).items).toEqual([])
  })

  it('sorts by firstName, createdAt and descending', async () => {
    const byFirst = expectPage(await list({ sort: 'firstName' })).items.map((i) => i.firstName)
    expect(byFirst).toEqual([...byFirst].sort())
    const desc = names(expectPage(await list({ sort: 'lastName', order: 'desc' })))
    expect(desc.slice(0, 3)).toEqual(['Ali Valiyev', 'Ali Valiyev', 'Zarina Rashidova'])
    expect(desc.at(-1)).toBe('Bobur Aliyev')
    const byCreated = expectPage(await list({ sort: 'createdAt' })).items.map((i) => i.createdAt)
    expect(byCreated).toEqual([...byCreated].sort())
  })

  it('sorts by employeeNo as numbers, not as text', async () => {
    const asc = expectPage(await list({ sort: 'employeeNo' })).items.map((i) => i.employeeNo)
    expect(asc).toEqual(['5', '999', '1000', '1001', '1002', '1003', '1004', '1005', '10000'])
    const desc = expectPage(await list({ sort: 'employeeNo', order: 'desc', pageSize: 3, page: 2 })).items.map((i) => i.employeeNo)
    expect(desc).toEqual(['1003', '1002', '1001'])
  })

  it('searches names word by word, in any case and order, across first, last and father name', async () => {
    expect(names(expectPage(await list({ search: 'ali valiyev' })))).toEqual(['Ali Valiyev', 'Ali Valiyev'])
    expect(names(expectPage(await list({ search: 'VALIYEV ali' })))).toEqual(['Ali Valiyev', 'Ali Valiyev'])
    expect(names(expectPage(await list({ search: 'karimovich' })))).toEqual(['Ali Valiyev'])
    // "ali" is also inside Aliyev, Valiyev and the father name Alievich.
    expect(names(expectPage(await list({ search: 'ali' })))).toEqual(['Bobur Aliyev', 'Aziz Qodirov', 'Ali Valiyev', 'Ali Valiyev'])
    expect(names(expectPage(await list({ search: 'zarina nobody' })))).toEqual([])
    expect(expectPage(await list({ search: '  RASHIDOVA  ' })).total).toBe(1)
  })

  it('searches the start of employeeNo', async () => {
    const body = expectPage(await list({ search: '100', sort: 'employeeNo' }))
    expect(body.items.map((i) => i.employeeNo)).toEqual(['1000', '1001', '1002', '1003', '1004', '1005', '10000'])
    expect(expectPage(await list({ search: '99' })).items.map((i) => i.employeeNo)).toEqual(['999'])
    // "00" is inside 1000 but not at its start.
    expect(expectPage(await list({ search: '00' })).total).toBe(0)
  })

  it('treats LIKE wildcards in the search as plain characters', async () => {
    expect(expectPage(await list({ search: '%' })).total).toBe(0)
    expect(expectPage(await list({ search: '_' })).total).toBe(0)
  })

  it('finds % and _ in names literally', async () => {
    const t = await setupSchool()
    await created(t, { firstName: 'Under_score', lastName: 'One' })
    await created(t, { firstName: 'UnderXscore', lastName: 'Two' })
    await created(t, { firstName: 'Hundred', lastName: '100%' })
    const search = async (q: string) => expectPage(await app.inject({ method: 'GET', url: studentsUrl(t.school.id), headers: t.operator, query: { search: q } })).items.map((i) => i.firstName)
    expect(await search('under_')).toEqual(['Under_score'])
    expect(await search('0%')).toEqual(['Hundred'])
    expect(await search('\\')).toEqual([])
  })

  it('filters by class and by status', async () => {
    expect(names(expectPage(await list({ classId: s.classA.id })))).toEqual(['Bobur Aliyev', 'Ali Valiyev'])
    expect(names(expectPage(await list({ status: 'inactive' })))).toEqual(['Bobur Aliyev'])
    expect(names(expectPage(await list({ classId: s.classA.id, status: 'active' })))).toEqual(['Ali Valiyev'])
    expect(expectPage(await list({ classId: b.classA.id })).total).toBe(0)
  })

  it.each([
    ['page', { page: 0 }],
    ['pageSize', { pageSize: 201 }],
    ['pageSize', { pageSize: 'ten' }],
    ['classId', { classId: 'nope' }],
    ['status', { status: 'deleted' }],
    ['sort', { sort: 'passwordHash' }],
    ['order', { order: 'sideways' }],
    ['search', { search: 'x'.repeat(101) }],
  ])('answers 400 naming %s for %j', async (field, query) => {
    expectValidation(await list(query as Record<string, string>), field)
  })

  it('answers 401 without a token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: studentsUrl(s.school.id) }), 401, 'UNAUTHORIZED')
  })

  it('answers 404 for another school and shows nothing of it', async () => {
    expectProblem(await list({}, b.admin), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await list({}, s.operator, randomUUID()), 404, 'SCHOOL_NOT_FOUND')
  })

  it('lets a super admin read any school', async () => {
    expect(expectPage(await list({}, superAdmin)).total).toBe(9)
  })

  it('shows a teacher only the students of its assigned classes', async () => {
    expect(names(expectPage(await list({}, s.teacher)))).toEqual(['Bobur Aliyev', 'Ali Valiyev'])
    expect(expectPage(await list({}, s.teacher)).total).toBe(2)
    expect(expectPage(await list({ classId: s.classB.id }, s.teacher)).total).toBe(0)
    expect(expectPage(await list({ classId: s.classA.id, status: 'inactive' }, s.teacher)).total).toBe(1)
    expect(expectPage(await list({ search: 'kamola' }, s.teacher)).total).toBe(0)
    expect(expectPage(await list({ sort: 'employeeNo', order: 'desc' }, s.teacher)).items.map((i) => i.firstName)).toEqual(['Bobur', 'Ali'])
  })

  it('shows a teacher without classes nothing', async () => {
    const lonely = await signedInAs(app, 'TEACHER', s.school.id)
    expect(expectPage(await list({}, lonely.headers))).toMatchObject({ items: [], total: 0 })
  })

  it('answers 403 to a guard', async () => {
    expectProblem(await list({}, s.guard), 403, 'FORBIDDEN')
  })
})

describe('GET /schools/:schoolId/students/:studentId', () => {
  it('returns the student with only allowlisted fields', async () => {
    const student = await created(a, { classId: a.classA.id, parentPhone: '+998901234567' })
    const body = expectStudent(await app.inject({ method: 'GET', url: studentUrl(a.school.id, student.id), headers: a.operator }))
    expect(body).toEqual(student)
  })

  it('answers 400 naming studentId for a malformed id', async () => {
    expectValidation(await app.inject({ method: 'GET', url: studentUrl(a.school.id, 'abc'), headers: a.operator }), 'studentId')
  })

  it('answers 401 without a token', async () => {
    const student = await created(a)
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, student.id) }), 401, 'UNAUTHORIZED')
  })

  it('answers 404 for a student of another school, by either school\'s path', async () => {
    const theirs = await created(b)
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, theirs.id), headers: a.admin }), 404, 'STUDENT_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(b.school.id, theirs.id), headers: a.admin }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, randomUUID()), headers: a.admin }), 404, 'STUDENT_NOT_FOUND')
  })

  it('answers 404 for a deleted student', async () => {
    const student = await created(a)
    await app.inject({ method: 'DELETE', url: studentUrl(a.school.id, student.id), headers: a.operator })
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, student.id), headers: a.operator }), 404, 'STUDENT_NOT_FOUND')
  })

  it('lets a teacher read students of its classes only', async () => {
    const mine = await created(a, { classId: a.classA.id })
    const notMine = await created(a, { classId: a.classB.id })
    const noClass = await created(a)
    expectStudent(await app.inject({ method: 'GET', url: studentUrl(a.school.id, mine.id), headers: a.teacher }))
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, notMine.id), headers: a.teacher }), 404, 'STUDENT_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, noClass.id), headers: a.teacher }), 404, 'STUDENT_NOT_FOUND')
  })

  it('answers 403 to a guard', async () => {
    const student = await created(a, { classId: a.classA.id })
    expectProblem(await app.inject({ method: 'GET', url: studentUrl(a.school.id, student.id), headers: a.guard }), 403, 'FORBIDDEN')
  })
})

describe('PATCH /schools/:schoolId/students/:studentId', () => {
  const patch = (schoolId: string, id: string, payload: Record<string, unknown>, headers: Headers = a.operator) =>
    app.inject({ method: 'PATCH', url: studentUrl(schoolId, id), headers, payload })

  it('changes the given fields only, records an audit row with the diff, and bumps the device version', async () => {
    const student = await created(a, { fatherName: 'Karimovich', parentPhone: '+998901112233' })
    const rowBefore = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    const body = expectSaved(await patch(a.school.id, student.id, { firstName: 'Vali', status: 'inactive', classId: a.classB.id }))
    expect(body).toMatchObject({
      ...student, firstName: 'Vali', status: 'inactive', classId: a.classB.id, updatedAt: expect.any(String),
    })
    expect(new Date(body.updatedAt as string).getTime()).toBeGreaterThanOrEqual(new Date(student.updatedAt as string).getTime())
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    expect(row).toMatchObject({ firstName: 'Vali', status: 'inactive', fatherName: 'Karimovich', parentPhone: '+998901112233' })
    expect(row.version).toBe(rowBefore.version + 1)

    const audits = await auditRows(student.id)
    expect(audits.map((r) => r.action)).toEqual(['create', 'update'])
    expect(audits[1].changes).toEqual({
      firstName: { before: 'Ali', after: 'Vali' },
      status: { before: 'active', after: 'inactive' },
      classId: { before: null, after: a.classB.id },
    })
  })

  it('clears optional fields with null or an empty string, without bumping the device version', async () => {
    const student = await created(a, { fatherName: 'Karimovich', parentPhone: '+998901112233', classId: a.classA.id })
    const before = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    const body = expectSaved(await patch(a.school.id, student.id, { fatherName: '', parentPhone: '', classId: null }))
    expect(body).toMatchObject({ fatherName: null, parentPhone: null, classId: null })
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })).version).toBe(before.version)
  })

  it('ignores fields outside the allowlist', async () => {
    const student = await created(a)
    const body = expectSaved(await patch(a.school.id, student.id, {
      schoolId: b.school.id, id: randomUUID(), photoUrl: '/x.jpg', deletedAt: new Date().toISOString(), employeeNo: '1', version: 50, lastName: 'Changed',
    }))
    expect(body).toMatchObject({ id: student.id, schoolId: a.school.id, photoUrl: null, employeeNo: student.employeeNo, lastName: 'Changed' })
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    expect(row).toMatchObject({ schoolId: a.school.id, deletedAt: null, photoUrl: null, employeeNo: student.employeeNo })
    expect(row.version).toBeLessThan(50)
  })

  it.each([
    ['firstName', { firstName: '' }],
    ['gender', { gender: 'x' }],
    ['classId', { classId: 'bad' }],
    ['status', { status: 'gone' }],
    ['parentPhone', { parentPhone: 'abc' }],
  ])('answers 400 naming %s for %j and changes nothing', async (field, payload) => {
    const student = await created(a)
    expectValidation(await patch(a.school.id, student.id, payload), field)
    expect(expectStudent(await app.inject({ method: 'GET', url: studentUrl(a.school.id, student.id), headers: a.operator }))).toEqual(student)
    expect(await auditRows(student.id)).toHaveLength(1)
  })

  it('answers 400 CLASS_NOT_FOUND for a class of another school', async () => {
    const student = await created(a)
    expectProblem(await patch(a.school.id, student.id, { classId: b.classA.id }), 400, 'CLASS_NOT_FOUND')
  })

  it('answers 401 without a token', async () => {
    const student = await created(a)
    expectProblem(await app.inject({ method: 'PATCH', url: studentUrl(a.school.id, student.id), payload: { firstName: 'X' } }), 401, 'UNAUTHORIZED')
  })

  it('answers 404 across schools and for deleted students, changing nothing', async () => {
    const theirs = await created(b)
    expectProblem(await patch(a.school.id, theirs.id, { firstName: 'Hacked' }), 404, 'STUDENT_NOT_FOUND')
    expectProblem(await patch(b.school.id, theirs.id, { firstName: 'Hacked' }), 404, 'SCHOOL_NOT_FOUND')
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: theirs.id } })).firstName).toBe('Ali')
    const gone = await created(a)
    await app.inject({ method: 'DELETE', url: studentUrl(a.school.id, gone.id), headers: a.operator })
    expectProblem(await patch(a.school.id, gone.id, { firstName: 'Back' }), 404, 'STUDENT_NOT_FOUND')
  })

  it('lets a school admin write, not a teacher (even of the class) or a guard', async () => {
    const student = await created(a, { classId: a.classA.id })
    expectSaved(await patch(a.school.id, student.id, { firstName: 'Admin' }, a.admin))
    expectProblem(await patch(a.school.id, student.id, { firstName: 'Teacher' }, a.teacher), 403, 'FORBIDDEN')
    expectProblem(await patch(a.school.id, student.id, { firstName: 'Guard' }, a.guard), 403, 'FORBIDDEN')
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })).firstName).toBe('Admin')
  })
})

describe('DELETE /schools/:schoolId/students/:studentId', () => {
  const del = (schoolId: string, id: string, headers: Headers = a.operator) =>
    app.inject({ method: 'DELETE', url: studentUrl(schoolId, id), headers })

  it('soft-deletes: 204, the row stays (inactive, deletedAt set), an audit row, then 404', async () => {
    const student = await created(a)
    const res = await del(a.school.id, student.id)
    expect(res.statusCode, res.body).toBe(204)
    expect(res.body).toBe('')
    const row = await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })
    expect(row.deletedAt).toBeInstanceOf(Date)
    expect(row.status).toBe('inactive')
    expect(row.version).toBe(2)
    const audits = await auditRows(student.id)
    expect(audits.map((r) => r.action)).toEqual(['create', 'delete'])
    expect(audits[1].changes).toMatchObject({ firstName: { before: 'Ali', after: null } })
    expectProblem(await del(a.school.id, student.id), 404, 'STUDENT_NOT_FOUND')
    expect(await auditRows(student.id)).toHaveLength(2)
  })

  it('answers 400 naming studentId for a malformed id', async () => {
    expectValidation(await del(a.school.id, 'x'), 'studentId')
  })

  it('answers 401 without a token', async () => {
    const student = await created(a)
    expectProblem(await app.inject({ method: 'DELETE', url: studentUrl(a.school.id, student.id) }), 401, 'UNAUTHORIZED')
  })

  it('answers 404 across schools and leaves the student alone', async () => {
    const theirs = await created(b)
    expectProblem(await del(a.school.id, theirs.id, a.admin), 404, 'STUDENT_NOT_FOUND')
    expectProblem(await del(b.school.id, theirs.id, a.admin), 404, 'SCHOOL_NOT_FOUND')
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: theirs.id } })).deletedAt).toBeNull()
  })

  it('is for operators and school admins only', async () => {
    const student = await created(a, { classId: a.classA.id })
    expectProblem(await del(a.school.id, student.id, a.teacher), 403, 'FORBIDDEN')
    expectProblem(await del(a.school.id, student.id, a.guard), 403, 'FORBIDDEN')
    expect((await del(a.school.id, student.id, a.admin)).statusCode).toBe(204)
  })
})

describe('audit rows are written in the same transaction as the change', () => {
  // A trigger makes every audit insert by one actor fail: the change itself must then not stick.
  let failing: Headers
  beforeAll(async () => {
    const user = await createUser(app, 'OPERATOR', a.school.id, { email: `audit-fail-${randomUUID().slice(0, 8)}@example.test` })
    failing = (await login(app, user.email)).headers
    await app.prisma.$executeRawUnsafe(`
      CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.actor_email LIKE 'audit-fail-%' THEN RAISE EXCEPTION 'audit refused'; END IF;
        RETURN NEW;
      END $$`)
    await app.prisma.$executeRawUnsafe('CREATE TRIGGER fail_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION fail_audit()')
  })

  it('create', async () => {
    const s = a
    const before = await app.prisma.student.count({ where: { schoolId: s.school.id } })
    const res = await create(s, newStudent({ lastName: 'NoAudit' }), failing)
    expect(res.statusCode).toBe(500)
    expect(await app.prisma.student.count({ where: { schoolId: s.school.id } })).toBe(before)
  })

  it('update', async () => {
    const student = await created(a)
    const res = await app.inject({ method: 'PATCH', url: studentUrl(a.school.id, student.id), headers: failing, payload: { firstName: 'NoAudit' } })
    expect(res.statusCode).toBe(500)
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })).firstName).toBe('Ali')
  })

  it('delete', async () => {
    const student = await created(a)
    const res = await app.inject({ method: 'DELETE', url: studentUrl(a.school.id, student.id), headers: failing })
    expect(res.statusCode).toBe(500)
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })).deletedAt).toBeNull()
  })
})
