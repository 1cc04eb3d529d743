import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../generated/prisma/enums.js'
import { verifyPassword } from '../../lib/password.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createUser, login, signedInAs, TEST_PASSWORD } from '../../../test/factories/index.js'

const USER_FIELDS = ['createdAt', 'email', 'id', 'name', 'role', 'schoolId', 'updatedAt']
const PAGE_FIELDS = ['items', 'page', 'pageSize', 'total']

interface Problem { status: number, code: string, requestId: string, errors?: Array<{ field: string, message: string }> }
interface UserBody { id: string, email: string, name: string, role: Role, schoolId: string | null, createdAt: string, updatedAt: string }
interface Page { items: UserBody[], page: number, pageSize: number, total: number }
type Headers = Record<string, string>

function expectProblem (res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json<Problem>()
  expect(body.code).toBe(code)
  expect(body.requestId).toBeTruthy()
  expect(body.requestId).toBe(res.headers['x-request-id'])
  return body
}

function expectValidationError (res: LightMyRequestResponse, ...fields: string[]) {
  const body = expectProblem(res, 400, 'VALIDATION_FAILED')
  expect(body.errors?.map((e) => e.field).sort()).toEqual([...fields].sort())
  return body
}

function expectNoSecrets (res: LightMyRequestResponse) {
  expect(res.body).not.toMatch(/\$argon2/)
  expect(res.body).not.toMatch(/passwordHash|password_hash|tokenHash|tokenVersion|deletedAt|"password"/)
}

function expectUser (res: LightMyRequestResponse, status = 200) {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json<UserBody>()
  expect(Object.keys(body).sort()).toEqual(USER_FIELDS)
  expectNoSecrets(res)
  return body
}

const NEW_PASSWORD = 'a-fresh-passphrase-123'

describe('users routes', async () => {
  const app = await buildTestApp()
  const schoolA = await createSchool(app)
  const schoolB = await createSchool(app)
  const superAdmin = await signedInAs(app, 'SUPER_ADMIN', null)
  const adminA = await signedInAs(app, 'SCHOOL_ADMIN', schoolA.id)
  const adminB = await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)

  const url = (schoolId: string, rest = '') => `/api/v1/schools/${schoolId}/users${rest}`
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, headers: Headers = {}, payload?: object) =>
    app.inject({ method, url: path, headers, payload })
  const me = (accessToken: string) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${accessToken}` } })
  const auditsFor = (entityId: string) => app.prisma.auditLog.findMany({ where: { entityId }, orderBy: { createdAt: 'asc' } })
  const newUserBody = (overrides: Record<string, unknown> = {}) =>
    ({ email: `new-${randomUUID().slice(0, 8)}@example.test`, name: 'New Person', role: 'OPERATOR', password: NEW_PASSWORD, ...overrides })

  /** Every route under /schools/:schoolId/users, as built for a given school and user id. */
  const routes = (schoolId: string, userId: string): Array<[string, 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', string, object | undefined]> => [
    ['list', 'GET', url(schoolId), undefined],
    ['create', 'POST', url(schoolId), newUserBody()],
    ['get', 'GET', url(schoolId, `/${userId}`), undefined],
    ['update', 'PATCH', url(schoolId, `/${userId}`), { name: 'Changed' }],
    ['delete', 'DELETE', url(schoolId, `/${userId}`), undefined],
    ['get classes', 'GET', url(schoolId, `/${userId}/classes`), undefined],
    ['set classes', 'PUT', url(schoolId, `/${userId}/classes`), { classIds: [] }],
  ]

  describe('on every route', () => {
    it('answers 401 without a token', async () => {
      const target = await createUser(app, 'TEACHER', schoolA.id)
      for (const [name, method, path, payload] of routes(schoolA.id, target.id)) {
        const res = await call(method, path, {}, payload)
        expect(res.statusCode, name).toBe(401)
        expectProblem(res, 401, 'UNAUTHORIZED')
      }
      expect(await app.prisma.user.count({ where: { id: target.id, deletedAt: null, name: 'TEACHER user' } })).toBe(1)
    })

    it.each(['TEACHER', 'OPERATOR', 'GUARD'] as const)('answers 403 to a %s of the school', async (role) => {
      const { headers } = await signedInAs(app, role, schoolA.id)
      const target = await createUser(app, 'TEACHER', schoolA.id)
      const before = await app.prisma.user.count()
      for (const [name, method, path, payload] of routes(schoolA.id, target.id)) {
        const res = await call(method, path, headers, payload)
        expect(res.statusCode, name).toBe(403)
        expectProblem(res, 403, 'FORBIDDEN')
      }
      expect(await app.prisma.user.count()).toBe(before)
      expect(await app.prisma.user.findUniqueOrThrow({ where: { id: target.id } })).toMatchObject({ name: 'TEACHER user', deletedAt: null })
    })

    it('answers 404 to a school admin on another school, and changes nothing there', async () => {
      const target = await createUser(app, 'TEACHER', schoolB.id)
      const before = await app.prisma.user.count({ where: { schoolId: schoolB.id } })
      for (const [name, method, path, payload] of routes(schoolB.id, target.id)) {
        const res = await call(method, path, adminA.headers, payload)
        expect(res.statusCode, name).toBe(404)
        expectProblem(res, 404, 'SCHOOL_NOT_FOUND')
      }
      expect(await app.prisma.user.count({ where: { schoolId: schoolB.id } })).toBe(before)
      expect(await app.prisma.user.findUniqueOrThrow({ where: { id: target.id } })).toMatchObject({ name: 'TEACHER user', deletedAt: null })
      expect(await auditsFor(target.id)).toEqual([])
    })

    it('answers 404 for a user of another school reached through one\'s own school', async () => {
      const target = await createUser(app, 'TEACHER', schoolB.id)
      const userRoutes = routes(schoolA.id, target.id).filter(([name]) => name !== 'list' && name !== 'create')
      for (const [name, method, path, payload] of userRoutes) {
        const res = await call(method, path, adminA.headers, payload)
        expect(res.statusCode, name).toBe(404)
        expectProblem(res, 404, 'USER_NOT_FOUND')
      }
      expect(await app.prisma.user.findUniqueOrThrow({ where: { id: target.id } })).toMatchObject({ name: 'TEACHER user', deletedAt: null })
    })

    it('answers 404 for a school that does not exist, even to a super admin', async () => {
      const target = await createUser(app, 'TEACHER', schoolA.id)
      for (const [name, method, path, payload] of routes(randomUUID(), target.id)) {
        const res = await call(method, path, superAdmin.headers, payload)
        expect(res.statusCode, name).toBe(404)
        expectProblem(res, 404, 'SCHOOL_NOT_FOUND')
      }
    })

    it('names an invalid path id', async () => {
      for (const [name, method, path, payload] of routes('not-a-uuid', randomUUID())) {
        const res = await call(method, path, superAdmin.headers, payload)
        expect(res.statusCode, name).toBe(400)
        expectValidationError(res, 'schoolId')
      }
      const userRoutes = routes(schoolA.id, 'not-a-uuid').filter(([name]) => name !== 'list' && name !== 'create')
      for (const [, method, path, payload] of userRoutes) expectValidationError(await call(method, path, adminA.headers, payload), 'userId')
    })
  })

  describe('GET /schools/:schoolId/users', () => {
    let school: Awaited<ReturnType<typeof createSchool>>
    let admin: Awaited<ReturnType<typeof signedInAs>>
    beforeAll(async () => {
      school = await createSchool(app)
      admin = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
      await createUser(app, 'TEACHER', school.id, { name: 'Bobur Teacher', email: `bobur-${randomUUID().slice(0, 8)}@example.test` })
      await createUser(app, 'TEACHER', school.id, { name: 'Aziza Teacher' })
      await createUser(app, 'GUARD', school.id, { name: 'Dilshod Guard' })
      await createUser(app, 'OPERATOR', school.id, { name: 'Zarina Gone', deletedAt: new Date() })
      await createUser(app, 'OPERATOR', schoolB.id, { name: 'Other School' })
    })

    it('lists only this school\'s live users, sorted by name, with allowlisted fields', async () => {
      const res = await call('GET', url(school.id), admin.headers)
      expect(res.statusCode).toBe(200)
      const body = res.json<Page>()
      expect(Object.keys(body).sort()).toEqual(PAGE_FIELDS)
      expect(body).toMatchObject({ page: 1, pageSize: 50, total: 4 })
      expect(body.items.map((u) => u.name)).toEqual(['Aziza Teacher', 'Bobur Teacher', 'Dilshod Guard', 'SCHOOL_ADMIN user'])
      for (const item of body.items) {
        expect(Object.keys(item).sort()).toEqual(USER_FIELDS)
        expect(item.schoolId).toBe(school.id)
      }
      expectNoSecrets(res)
    })

    it('lets a super admin list any school', async () => {
      const res = await call('GET', url(school.id), superAdmin.headers)
      expect(res.json<Page>().total).toBe(4)
    })

    it('filters by role and searches name and email case-insensitively', async () => {
      const byRole = (await call('GET', url(school.id, '?role=TEACHER'), admin.headers)).json<Page>()
      expect(byRole.items.map((u) => u.name)).toEqual(['Aziza Teacher', 'Bobur Teacher'])
      expect(byRole.total).toBe(2)
      const byName = (await call('GET', url(school.id, '?search=guard'), admin.headers)).json<Page>()
      expect(byName.items.map((u) => u.name)).toEqual(['Dilshod Guard'])
      const byEmail = (await call('GET', url(school.id, '?search=BOBUR-'), admin.headers)).json<Page>()
      expect(byEmail.items.map((u) => u.name)).toEqual(['Bobur Teacher'])
    })

    it('pages', async () => {
      const res = await call('GET', url(school.id, '?page=2&pageSize=3'), admin.headers)
      expect(res.json()).toMatchObject({ page: 2, pageSize: 3, total: 4 })
      expect(res.json<Page>().items.map((u) => u.name)).toEqual(['SCHOOL_ADMIN user'])
    })

    it('names invalid query fields', async () => {
      expectValidationError(await call('GET', url(school.id, '?pageSize=0'), admin.headers), 'pageSize')
      expectValidationError(await call('GET', url(school.id, '?pageSize=201'), admin.headers), 'pageSize')
      expectValidationError(await call('GET', url(school.id, '?page=0'), admin.headers), 'page')
      expectValidationError(await call('GET', url(school.id, '?role=SUPER_ADMIN'), admin.headers), 'role')
    })
  })

  describe('POST /schools/:schoolId/users', () => {
    it('creates a user of this school who can then sign in', async () => {
      const input = newUserBody({ email: `Mixed-${randomUUID().slice(0, 8)}@Example.test`, name: '  Padded Name  ', role: 'TEACHER' })
      const res = await call('POST', url(schoolA.id), adminA.headers, input)
      const body = expectUser(res, 201)
      expect(body).toMatchObject({ email: String(input.email).toLowerCase(), name: 'Padded Name', role: 'TEACHER', schoolId: schoolA.id })

      const row = await app.prisma.user.findUniqueOrThrow({ where: { id: body.id } })
      expect(row.passwordHash).not.toContain(NEW_PASSWORD)
      expect(await verifyPassword(row.passwordHash, NEW_PASSWORD)).toBe(true)
      await login(app, String(input.email), NEW_PASSWORD)

      const fetched = expectUser(await call('GET', url(schoolA.id, `/${body.id}`), adminA.headers))
      expect(fetched).toEqual(body)
    })

    it('lets a super admin create a user in any school', async () => {
      const body = expectUser(await call('POST', url(schoolB.id), superAdmin.headers, newUserBody()), 201)
      expect(body.schoolId).toBe(schoolB.id)
    })

    it('ignores fields outside the allowlist (no mass assignment)', async () => {
      const id = randomUUID()
      const input = newUserBody({ id, schoolId: schoolB.id, tokenVersion: 99, passwordHash: 'plain', deletedAt: new Date().toISOString(), createdAt: '2000-01-01T00:00:00.000Z' })
      const body = expectUser(await call('POST', url(schoolA.id), adminA.headers, input), 201)
      expect(body.id).not.toBe(id)
      expect(body.schoolId).toBe(schoolA.id)
      expect(body.createdAt).not.toBe('2000-01-01T00:00:00.000Z')
      const row = await app.prisma.user.findUniqueOrThrow({ where: { id: body.id } })
      expect(row).toMatchObject({ schoolId: schoolA.id, tokenVersion: 0, deletedAt: null })
      expect(row.passwordHash).not.toBe('plain')
    })

    it('writes an audit row with the created fields and no password or hash', async () => {
      const res = await call('POST', url(schoolA.id), adminA.headers, newUserBody({ name: 'Audited' }))
      const body = expectUser(res, 201)
      const audits = await auditsFor(body.id)
      expect(audits).toHaveLength(1)
      expect(audits[0]).toMatchObject({
        action: 'create', entity: 'user', schoolId: schoolA.id, actorId: adminA.user.id, actorEmail: adminA.user.email,
        requestId: res.headers['x-request-id'],
      })
      expect(audits[0].changes).toMatchObject({
        name: { before: null, after: 'Audited' },
        email: { before: null, after: body.email },
        role: { before: null, after: 'OPERATOR' },
        schoolId: { before: null, after: schoolA.id },
      })
      const raw = JSON.stringify(audits)
      expect(raw).not.toContain(NEW_PASSWORD)
      expect(raw).not.toMatch(/\$argon2|passwordHash/)
    })

    it('answers 409 EMAIL_TAKEN for an existing email, whatever its case or school, and writes nothing', async () => {
      const existing = await createUser(app, 'OPERATOR', schoolB.id)
      const before = await app.prisma.auditLog.count()
      const res = await call('POST', url(schoolA.id), adminA.headers, newUserBody({ email: existing.email.toUpperCase() }))
      expectProblem(res, 409, 'EMAIL_TAKEN')
      expect(await app.prisma.user.count({ where: { email: existing.email } })).toBe(1)
      expect(await app.prisma.auditLog.count()).toBe(before)
    })

    it('names each invalid field', async () => {
      const post = (body: object) => call('POST', url(schoolA.id), adminA.headers, body)
      expectValidationError(await post(newUserBody({ email: 'nope' })), 'email')
      expectValidationError(await post(newUserBody({ password: 'short' })), 'password')
      expectValidationError(await post(newUserBody({ name: '   ' })), 'name')
      expectValidationError(await post(newUserBody({ role: 'SUPER_ADMIN' })), 'role')
      expectValidationError(await post({}), 'email', 'name', 'role', 'password')
    })
  })

  describe('GET /schools/:schoolId/users/:userId', () => {
    it('returns the user with allowlisted fields only', async () => {
      const user = await createUser(app, 'GUARD', schoolA.id)
      const body = expectUser(await call('GET', url(schoolA.id, `/${user.id}`), adminA.headers))
      expect(body).toEqual({
        id: user.id, email: user.email, name: user.name, role: 'GUARD', schoolId: schoolA.id,
        createdAt: user.createdAt.toISOString(), updatedAt: user.updatedAt.toISOString(),
      })
    })

    it('does not show a super admin (who belongs to no school) nor a deleted user', async () => {
      expectProblem(await call('GET', url(schoolA.id, `/${superAdmin.user.id}`), adminA.headers), 404, 'USER_NOT_FOUND')
      const gone = await createUser(app, 'GUARD', schoolA.id, { deletedAt: new Date() })
      expectProblem(await call('GET', url(schoolA.id, `/${gone.id}`), adminA.headers), 404, 'USER_NOT_FOUND')
      expectProblem(await call('GET', url(schoolA.id, `/${randomUUID()}`), adminA.headers), 404, 'USER_NOT_FOUND')
    })
  })

  describe('PATCH /schools/:schoolId/users/:userId', () => {
    it('updates allowlisted fields and writes an audit row with before and after', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id, { name: 'Old Name' })
      const res = await call('PATCH', url(schoolA.id, `/${user.id}`), adminA.headers, { name: 'New Name', role: 'GUARD' })
      const body = expectUser(res)
      expect(body).toMatchObject({ id: user.id, name: 'New Name', role: 'GUARD', email: user.email, schoolId: schoolA.id })

      const audits = await auditsFor(user.id)
      expect(audits).toHaveLength(1)
      expect(audits[0]).toMatchObject({ action: 'update', entity: 'user', schoolId: schoolA.id, actorId: adminA.user.id, requestId: res.headers['x-request-id'] })
      expect(audits[0].changes).toEqual({
        name: { before: 'Old Name', after: 'New Name' },
        role: { before: 'OPERATOR', after: 'GUARD' },
      })
    })

    it('ignores fields outside the allowlist (no mass assignment)', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      const res = await call('PATCH', url(schoolA.id, `/${user.id}`), adminA.headers, {
        name: 'Renamed', schoolId: schoolB.id, tokenVersion: 42, passwordHash: 'plain', deletedAt: new Date().toISOString(), id: randomUUID(),
      })
      expect(expectUser(res)).toMatchObject({ id: user.id, name: 'Renamed', schoolId: schoolA.id })
      const row = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } })
      expect(row).toMatchObject({ schoolId: schoolA.id, tokenVersion: 0, deletedAt: null, passwordHash: user.passwordHash })
    })

    it('sets a new password: old sessions end, the new password works, the audit holds no secret', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      const session = await login(app, user.email)
      const res = await call('PATCH', url(schoolA.id, `/${user.id}`), adminA.headers, { password: NEW_PASSWORD })
      expectUser(res)

      expectProblem(await me(session.accessToken), 401, 'SESSION_REVOKED')
      const refreshed = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: session.refreshToken } })
      expectProblem(refreshed, 401, 'INVALID_REFRESH_TOKEN')
      await expect(login(app, user.email, TEST_PASSWORD)).rejects.toThrow(/401/)
      await login(app, user.email, NEW_PASSWORD)

      const audits = await auditsFor(user.id)
      expect(audits).toHaveLength(1)
      expect(audits[0].changes).toEqual({ password: { before: '[redacted]', after: '[redacted]' } })
      const raw = JSON.stringify(audits)
      expect(raw).not.toContain(NEW_PASSWORD)
      expect(raw).not.toMatch(/\$argon2/)
    })

    it('takes a role change into effect at once for the user\'s live token', async () => {
      const other = await signedInAs(app, 'SCHOOL_ADMIN', schoolA.id)
      expect((await call('GET', url(schoolA.id), other.headers)).statusCode).toBe(200)
      expectUser(await call('PATCH', url(schoolA.id, `/${other.user.id}`), adminA.headers, { role: 'OPERATOR' }))
      expectProblem(await call('GET', url(schoolA.id), other.headers), 403, 'FORBIDDEN')
    })

    it('drops a teacher\'s classes when the role changes away from TEACHER', async () => {
      const teacher = await createUser(app, 'TEACHER', schoolA.id)
      const klass = await createClass(app, schoolA.id)
      await app.prisma.teacherClass.create({ data: { teacherId: teacher.id, classId: klass.id } })
      expectUser(await call('PATCH', url(schoolA.id, `/${teacher.id}`), adminA.headers, { role: 'OPERATOR' }))
      expect(await app.prisma.teacherClass.count({ where: { teacherId: teacher.id } })).toBe(0)
    })

    it('refuses to change one\'s own role', async () => {
      expectProblem(await call('PATCH', url(schoolA.id, `/${adminA.user.id}`), adminA.headers, { role: 'OPERATOR' }), 400, 'CANNOT_CHANGE_OWN_ROLE')
      expect((await app.prisma.user.findUniqueOrThrow({ where: { id: adminA.user.id } })).role).toBe('SCHOOL_ADMIN')
    })

    it('answers 409 EMAIL_TAKEN and changes nothing when the email is in use', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      const other = await createUser(app, 'OPERATOR', schoolB.id)
      expectProblem(await call('PATCH', url(schoolA.id, `/${user.id}`), adminA.headers, { email: other.email, name: 'Should Not Stick' }), 409, 'EMAIL_TAKEN')
      expect(await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ email: user.email, name: user.name })
      expect(await auditsFor(user.id)).toEqual([])
    })

    it('names each invalid field', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      const patch = (body: object) => call('PATCH', url(schoolA.id, `/${user.id}`), adminA.headers, body)
      expectValidationError(await patch({ email: 'nope' }), 'email')
      expectValidationError(await patch({ name: '' }), 'name')
      expectValidationError(await patch({ role: 'SUPER_ADMIN' }), 'role')
      expectValidationError(await patch({ password: 'short' }), 'password')
      expect(await auditsFor(user.id)).toEqual([])
    })
  })

  describe('DELETE /schools/:schoolId/users/:userId', () => {
    it('deletes: 204, the user is gone, their tokens stop working, an audit row is written', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      const session = await login(app, user.email)
      const res = await call('DELETE', url(schoolA.id, `/${user.id}`), adminA.headers)
      expect(res.statusCode, res.body).toBe(204)
      expect(res.body).toBe('')

      expectProblem(await call('GET', url(schoolA.id, `/${user.id}`), adminA.headers), 404, 'USER_NOT_FOUND')
      expect((await call('GET', url(schoolA.id), adminA.headers)).json<Page>().items.map((u) => u.id)).not.toContain(user.id)
      expectProblem(await me(session.accessToken), 401, 'SESSION_REVOKED')
      const refreshed = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: session.refreshToken } })
      expectProblem(refreshed, 401, 'INVALID_REFRESH_TOKEN')
      await expect(login(app, user.email)).rejects.toThrow(/401/)
      expectProblem(await call('DELETE', url(schoolA.id, `/${user.id}`), adminA.headers), 404, 'USER_NOT_FOUND')

      const audits = await auditsFor(user.id)
      expect(audits).toHaveLength(1)
      expect(audits[0]).toMatchObject({ action: 'delete', entity: 'user', schoolId: schoolA.id, actorId: adminA.user.id, requestId: res.headers['x-request-id'] })
      expect(audits[0].changes).toMatchObject({
        email: { before: user.email, after: null },
        name: { before: user.name, after: null },
        role: { before: 'OPERATOR', after: null },
      })
      expect(JSON.stringify(audits)).not.toMatch(/\$argon2|passwordHash/)
    })

    it('releases the email for a new user', async () => {
      const user = await createUser(app, 'OPERATOR', schoolA.id)
      expect((await call('DELETE', url(schoolA.id, `/${user.id}`), adminA.headers)).statusCode).toBe(204)
      const again = expectUser(await call('POST', url(schoolA.id), adminA.headers, newUserBody({ email: user.email })), 201)
      expect(again.id).not.toBe(user.id)
      expect(again.email).toBe(user.email)
    })

    it('drops a deleted teacher\'s classes', async () => {
      const teacher = await createUser(app, 'TEACHER', schoolA.id)
      const klass = await createClass(app, schoolA.id)
      await app.prisma.teacherClass.create({ data: { teacherId: teacher.id, classId: klass.id } })
      expect((await call('DELETE', url(schoolA.id, `/${teacher.id}`), adminA.headers)).statusCode).toBe(204)
      expect(await app.prisma.teacherClass.count({ where: { teacherId: teacher.id } })).toBe(0)
    })

    it('refuses to delete oneself', async () => {
      expectProblem(await call('DELETE', url(schoolA.id, `/${adminA.user.id}`), adminA.headers), 400, 'CANNOT_DELETE_SELF')
      expect((await me(adminA.accessToken)).statusCode).toBe(200)
    })
  })

  describe('teacher classes', () => {
    it('replaces the classes of a teacher, deduplicated, and writes an audit row', async () => {
      const teacher = await signedInAs(app, 'TEACHER', schoolA.id)
      const [c1, c2, c3] = await Promise.all([createClass(app, schoolA.id), createClass(app, schoolA.id), createClass(app, schoolA.id)])
      const path = url(schoolA.id, `/${teacher.user.id}/classes`)

      const first = await call('PUT', path, adminA.headers, { classIds: [c1.id, c2.id, c1.id] })
      expect(first.statusCode, first.body).toBe(200)
      expect(Object.keys(first.json()).sort()).toEqual(['classIds', 'teacherId'])
      expect(first.json()).toEqual({ teacherId: teacher.user.id, classIds: [c1.id, c2.id].sort() })

      const second = await call('PUT', path, adminA.headers, { classIds: [c2.id, c3.id] })
      expect(second.json()).toEqual({ teacherId: teacher.user.id, classIds: [c2.id, c3.id].sort() })
      expect((await call('GET', path, adminA.headers)).json()).toEqual({ teacherId: teacher.user.id, classIds: [c2.id, c3.id].sort() })
      expect((await me(teacher.accessToken)).json<{ classIds: string[] }>().classIds).toEqual([c2.id, c3.id].sort())

      const audits = await auditsFor(teacher.user.id)
      expect(audits.map((a) => a.action)).toEqual(['assign_classes', 'assign_classes'])
      expect(audits[1].changes).toEqual({ classIds: { before: [c1.id, c2.id].sort(), after: [c2.id, c3.id].sort() } })

      expect((await call('PUT', path, adminA.headers, { classIds: [] })).json()).toEqual({ teacherId: teacher.user.id, classIds: [] })
    })

    it('rejects a class of another school and changes nothing', async () => {
      const teacher = await createUser(app, 'TEACHER', schoolA.id)
      const own = await createClass(app, schoolA.id)
      const foreign = await createClass(app, schoolB.id)
      const path = url(schoolA.id, `/${teacher.id}/classes`)
      expect((await call('PUT', path, adminA.headers, { classIds: [own.id] })).statusCode).toBe(200)
      expectProblem(await call('PUT', path, adminA.headers, { classIds: [own.id, foreign.id] }), 404, 'CLASS_NOT_FOUND')
      expectProblem(await call('PUT', path, adminA.headers, { classIds: [randomUUID()] }), 404, 'CLASS_NOT_FOUND')
      expect((await call('GET', path, adminA.headers)).json()).toEqual({ teacherId: teacher.id, classIds: [own.id] })
      expect(await app.prisma.teacherClass.count({ where: { classId: foreign.id } })).toBe(0)
    })

    it('rejects a user who is not a teacher', async () => {
      const operator = await createUser(app, 'OPERATOR', schoolA.id)
      const klass = await createClass(app, schoolA.id)
      expectProblem(await call('PUT', url(schoolA.id, `/${operator.id}/classes`), adminA.headers, { classIds: [klass.id] }), 400, 'NOT_A_TEACHER')
      expect(await app.prisma.teacherClass.count({ where: { teacherId: operator.id } })).toBe(0)
      expect(await auditsFor(operator.id)).toEqual([])
    })

    it('names the invalid field', async () => {
      const teacher = await createUser(app, 'TEACHER', schoolA.id)
      const path = url(schoolA.id, `/${teacher.id}/classes`)
      expectValidationError(await call('PUT', path, adminA.headers, {}), 'classIds')
      expectValidationError(await call('PUT', path, adminA.headers, { classIds: 'x' }), 'classIds')
      expectValidationError(await call('PUT', path, adminA.headers, { classIds: ['not-a-uuid'] }), 'classIds.0')
    })
  })

  it('lets school B\'s admin manage school B, not A', async () => {
    const inB = await createUser(app, 'OPERATOR', schoolB.id)
    expectUser(await call('GET', url(schoolB.id, `/${inB.id}`), adminB.headers))
    expectProblem(await call('GET', url(schoolA.id), adminB.headers), 404, 'SCHOOL_NOT_FOUND')
  })
})
