import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createUser, login, signedInAs, TEST_PASSWORD } from '../../../test/factories/index.js'

const USER_FIELDS = ['createdAt', 'email', 'id', 'name', 'role', 'schoolId', 'updatedAt']
const TOKEN_PAIR_FIELDS = ['accessToken', 'expiresIn', 'refreshToken', 'user']
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

interface Problem { type: string, status: number, code: string, title: string, detail?: string, requestId: string, errors?: Array<{ field: string, message: string }> }

function expectProblem (res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json<Problem>()
  expect(body.code).toBe(code)
  expect(body.status).toBe(status)
  expect(body.requestId).toBeTruthy()
  expect(body.requestId).toBe(res.headers['x-request-id'])
  return body
}

function expectValidationError (res: LightMyRequestResponse, ...fields: string[]) {
  const body = expectProblem(res, 400, 'VALIDATION_FAILED')
  expect(body.errors?.map((e) => e.field).sort()).toEqual([...fields].sort())
  for (const e of body.errors ?? []) expect(e.message).toEqual(expect.any(String))
  return body
}

function expectNoSecrets (res: LightMyRequestResponse) {
  expect(res.body).not.toMatch(/\$argon2/)
  expect(res.body).not.toMatch(/passwordHash|password_hash|tokenHash|token_hash|tokenVersion/)
}

function expectTokenPair (res: LightMyRequestResponse, user: { id: string, email: string }) {
  expect(res.statusCode, res.body).toBe(200)
  const body = res.json<{ accessToken: string, refreshToken: string, expiresIn: number, user: Record<string, unknown> }>()
  expect(Object.keys(body).sort()).toEqual(TOKEN_PAIR_FIELDS)
  expect(Object.keys(body.user).sort()).toEqual(USER_FIELDS)
  expect(body.user.id).toBe(user.id)
  expect(body.user.email).toBe(user.email)
  expect(body.accessToken.split('.')).toHaveLength(3)
  expect(body.refreshToken.length).toBeGreaterThanOrEqual(40)
  expect(body.expiresIn).toBe(900)
  expectNoSecrets(res)
  return body
}

const post = (app: TestApp, url: string, payload?: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/api/v1${url}`, payload, headers })
const me = (app: TestApp, accessToken: string) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(accessToken) })
const refresh = (app: TestApp, refreshToken: string) => post(app, '/auth/refresh', { refreshToken })

describe('auth routes', async () => {
  const app = await buildTestApp()
  const school = await createSchool(app)

  describe('POST /auth/login', () => {
    it('returns a token pair whose user holds only allowlisted fields', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const res = await post(app, '/auth/login', { email: user.email, password: TEST_PASSWORD })
      const body = expectTokenPair(res, user)
      expect(body.user).toEqual({
        id: user.id, email: user.email, name: user.name, role: 'OPERATOR', schoolId: school.id,
        createdAt: user.createdAt.toISOString(), updatedAt: user.updatedAt.toISOString(),
      })
      expect((await me(app, body.accessToken)).statusCode).toBe(200)
    })

    it('treats the email case-insensitively', async () => {
      const user = await createUser(app, 'GUARD', school.id)
      const res = await post(app, '/auth/login', { email: user.email.toUpperCase(), password: TEST_PASSWORD })
      expectTokenPair(res, user)
    })

    it('answers 401 INVALID_CREDENTIALS for a wrong password', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const res = await post(app, '/auth/login', { email: user.email, password: `${TEST_PASSWORD}x` })
      const body = expectProblem(res, 401, 'INVALID_CREDENTIALS')
      expect(res.body).not.toContain('accessToken')
      expect(body.detail).toBe('Wrong email or password')
    })

    it('answers an unknown email exactly as a wrong password', async () => {
      const res = await post(app, '/auth/login', { email: 'nobody-here@example.test', password: TEST_PASSWORD })
      const body = expectProblem(res, 401, 'INVALID_CREDENTIALS')
      expect(body.detail).toBe('Wrong email or password')
    })

    it('refuses a deleted user', async () => {
      const user = await createUser(app, 'OPERATOR', school.id, { deletedAt: new Date() })
      expectProblem(await post(app, '/auth/login', { email: user.email, password: TEST_PASSWORD }), 401, 'INVALID_CREDENTIALS')
    })

    it('names each invalid field', async () => {
      expectValidationError(await post(app, '/auth/login', { password: TEST_PASSWORD }), 'email')
      expectValidationError(await post(app, '/auth/login', { email: 'not-an-email', password: TEST_PASSWORD }), 'email')
      expectValidationError(await post(app, '/auth/login', { email: 'a@example.test', password: '' }), 'password')
      expectValidationError(await post(app, '/auth/login', {}), 'email', 'password')
    })

    it('writes no password or hash into refresh_tokens, only the sha256 of the token', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const { refreshToken, accessToken } = await login(app, user.email)
      const rows = await app.prisma.refreshToken.findMany({ where: { userId: user.id } })
      expect(rows).toHaveLength(1)
      expect(rows[0].tokenHash).toBe(sha256(refreshToken))
      const raw = JSON.stringify(rows)
      expect(raw).not.toContain(refreshToken)
      expect(raw).not.toContain(accessToken)
      const viaSql = await app.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>('SELECT * FROM refresh_tokens WHERE user_id = $1::uuid', user.id)
      expect(viaSql).toHaveLength(1)
      expect(JSON.stringify(viaSql)).not.toContain(refreshToken)
    })
  })

  describe('POST /auth/refresh', () => {
    it('rotates: returns a new pair, and the new tokens work', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const first = await login(app, user.email)
      const second = expectTokenPair(await refresh(app, first.refreshToken), user)
      expect(second.refreshToken).not.toBe(first.refreshToken)
      expect((await me(app, second.accessToken)).statusCode).toBe(200)
      const third = expectTokenPair(await refresh(app, second.refreshToken), user)
      expect(third.refreshToken).not.toBe(second.refreshToken)

      const rows = await app.prisma.refreshToken.findMany({ where: { userId: user.id }, orderBy: { createdAt: 'asc' } })
      expect(rows).toHaveLength(3)
      expect(new Set(rows.map((r) => r.familyId)).size).toBe(1)
      expect(rows.map((r) => r.rotatedAt !== null)).toEqual([true, true, false])
      expect(rows.every((r) => r.revokedAt === null)).toBe(true)
    })

    it('revokes the whole family when a rotated token is reused', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const first = await login(app, user.email)
      const second = expectTokenPair(await refresh(app, first.refreshToken), user)

      expectProblem(await refresh(app, first.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
      // The newer token of the family, and its access token, are dead too.
      expectProblem(await refresh(app, second.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
      expectProblem(await me(app, second.accessToken), 401, 'SESSION_REVOKED')
      expectProblem(await me(app, first.accessToken), 401, 'SESSION_REVOKED')
      const live = await app.prisma.refreshToken.count({ where: { userId: user.id, revokedAt: null } })
      expect(live).toBe(0)
    })

    it('leaves the user\'s other sessions alone when one family is revoked', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const stolen = await login(app, user.email)
      const other = await login(app, user.email)
      expectTokenPair(await refresh(app, stolen.refreshToken), user)
      expectProblem(await refresh(app, stolen.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
      expect((await me(app, other.accessToken)).statusCode).toBe(200)
      expectTokenPair(await refresh(app, other.refreshToken), user)
    })

    it('rejects an unknown token', async () => {
      expectProblem(await refresh(app, 'x'.repeat(43)), 401, 'INVALID_REFRESH_TOKEN')
    })

    it('rejects an expired token', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const { refreshToken } = await login(app, user.email)
      await app.prisma.refreshToken.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
      expectProblem(await refresh(app, refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    })

    it('rejects a deleted user\'s token', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const { refreshToken } = await login(app, user.email)
      await app.prisma.user.update({ where: { id: user.id }, data: { deletedAt: new Date() } })
      expectProblem(await refresh(app, refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    })

    it('names the invalid field', async () => {
      expectValidationError(await post(app, '/auth/refresh', {}), 'refreshToken')
      expectValidationError(await post(app, '/auth/refresh', { refreshToken: 'short' }), 'refreshToken')
    })

    it('does not need an access token (it is how one gets a new one)', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const { refreshToken } = await login(app, user.email)
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } })
      expectTokenPair(res, user)
    })
  })

  describe('POST /auth/logout', () => {
    it('answers 204 and makes this session\'s access and refresh tokens unusable', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const session = await login(app, user.email)
      const res = await post(app, '/auth/logout', {}, session.headers)
      expect(res.statusCode).toBe(204)
      expect(res.body).toBe('')
      expectProblem(await me(app, session.accessToken), 401, 'SESSION_REVOKED')
      expectProblem(await refresh(app, session.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    })

    it('works without any body', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const session = await login(app, user.email)
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: session.headers })
      expect(res.statusCode, res.body).toBe(204)
      expectProblem(await refresh(app, session.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
    })

    it('also revokes the session of a refresh token given in the body, and keeps the others', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const a = await login(app, user.email)
      const b = await login(app, user.email)
      const c = await login(app, user.email)
      expect((await post(app, '/auth/logout', { refreshToken: b.refreshToken }, a.headers)).statusCode).toBe(204)
      expectProblem(await refresh(app, b.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
      expectProblem(await me(app, b.accessToken), 401, 'SESSION_REVOKED')
      expect((await me(app, c.accessToken)).statusCode).toBe(200)
      expectTokenPair(await refresh(app, c.refreshToken), user)
    })

    it('ignores another user\'s refresh token', async () => {
      const alice = await createUser(app, 'OPERATOR', school.id)
      const bob = await createUser(app, 'OPERATOR', school.id)
      const a = await login(app, alice.email)
      const b = await login(app, bob.email)
      expect((await post(app, '/auth/logout', { refreshToken: b.refreshToken }, a.headers)).statusCode).toBe(204)
      expect((await me(app, b.accessToken)).statusCode).toBe(200)
      expectTokenPair(await refresh(app, b.refreshToken), bob)
    })

    it('answers 401 without a token', async () => {
      expectProblem(await post(app, '/auth/logout', {}), 401, 'UNAUTHORIZED')
    })

    it('names the invalid field', async () => {
      const { headers } = await signedInAs(app, 'OPERATOR', school.id)
      expectValidationError(await post(app, '/auth/logout', { refreshToken: 'short' }, headers), 'refreshToken')
    })
  })

  describe('GET /auth/me', () => {
    it('returns the signed-in user with allowlisted fields only', async () => {
      const { user, accessToken } = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
      const res = await me(app, accessToken)
      expect(res.statusCode).toBe(200)
      expect(Object.keys(res.json()).sort()).toEqual([...USER_FIELDS, 'classIds'].sort())
      expect(res.json()).toMatchObject({ id: user.id, email: user.email, role: 'SCHOOL_ADMIN', schoolId: school.id, classIds: [] })
      expectNoSecrets(res)
    })

    it('lists a teacher\'s classes, sorted', async () => {
      const { user, accessToken } = await signedInAs(app, 'TEACHER', school.id)
      const classes = await Promise.all([createClass(app, school.id), createClass(app, school.id)])
      await app.prisma.teacherClass.createMany({ data: classes.map((c) => ({ teacherId: user.id, classId: c.id })) })
      const res = await me(app, accessToken)
      expect(res.json<{ classIds: string[] }>().classIds).toEqual(classes.map((c) => c.id).sort())
    })

    it('answers 401 without a token, with a malformed one, and with a forged one', async () => {
      expectProblem(await app.inject({ method: 'GET', url: '/api/v1/auth/me' }), 401, 'UNAUTHORIZED')
      expectProblem(await me(app, 'not-a-jwt'), 401, 'UNAUTHORIZED')
      const { accessToken } = await signedInAs(app, 'OPERATOR', school.id)
      const [h, p] = accessToken.split('.')
      expectProblem(await me(app, `${h}.${p}.${'A'.repeat(43)}`), 401, 'UNAUTHORIZED')
    })

    it('answers 401 TOKEN_EXPIRED for an expired access token', async () => {
      const { user, accessToken } = await signedInAs(app, 'OPERATOR', school.id)
      const claims = app.jwt.decode<{ sid: string }>(accessToken)
      const expired = app.jwt.sign(
        { sub: user.id, role: user.role, schoolId: user.schoolId, tv: user.tokenVersion, sid: claims!.sid, typ: 'access' },
        { expiresIn: 60, clockTimestamp: Date.now() - 3_600_000 } as never
      )
      expectProblem(await me(app, expired), 401, 'TOKEN_EXPIRED')
    })

    it('refuses a token that is not an access token', async () => {
      const { user, accessToken } = await signedInAs(app, 'OPERATOR', school.id)
      const claims = app.jwt.decode<{ sid: string }>(accessToken)
      const stream = app.jwt.sign({ sub: user.id, role: user.role, schoolId: user.schoolId, tv: user.tokenVersion, sid: claims!.sid, typ: 'stream' })
      expectProblem(await me(app, stream), 401, 'UNAUTHORIZED')
    })

    it('stops accepting the token of a user deleted meanwhile', async () => {
      const { user, accessToken } = await signedInAs(app, 'OPERATOR', school.id)
      await app.prisma.user.update({ where: { id: user.id }, data: { deletedAt: new Date() } })
      expectProblem(await me(app, accessToken), 401, 'SESSION_REVOKED')
    })
  })

  describe('POST /auth/change-password', () => {
    const NEW_PASSWORD = 'a-brand-new-passphrase'

    it('returns a new pair and invalidates every old access and refresh token', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const current = await login(app, user.email)
      const other = await login(app, user.email)
      const res = await post(app, '/auth/change-password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, current.headers)
      const fresh = expectTokenPair(res, user)

      for (const old of [current, other]) {
        expectProblem(await me(app, old.accessToken), 401, 'SESSION_REVOKED')
        expectProblem(await refresh(app, old.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
      }
      expect((await me(app, fresh.accessToken)).statusCode).toBe(200)
      expectTokenPair(await refresh(app, fresh.refreshToken), user)

      expectProblem(await post(app, '/auth/login', { email: user.email, password: TEST_PASSWORD }), 401, 'INVALID_CREDENTIALS')
      expectTokenPair(await post(app, '/auth/login', { email: user.email, password: NEW_PASSWORD }), user)
    })

    it('writes an audit row that holds no password or hash', async () => {
      const user = await createUser(app, 'SCHOOL_ADMIN', school.id)
      const { headers } = await login(app, user.email)
      const res = await post(app, '/auth/change-password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, headers)
      expect(res.statusCode).toBe(200)
      const rows = await app.prisma.auditLog.findMany({ where: { entityId: user.id } })
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ action: 'change_password', entity: 'user', actorId: user.id, schoolId: school.id, requestId: res.headers['x-request-id'] })
      const raw = JSON.stringify(rows)
      expect(raw).not.toContain(NEW_PASSWORD)
      expect(raw).not.toContain(TEST_PASSWORD)
      expect(raw).not.toMatch(/\$argon2/)
    })

    it('answers 400 WRONG_PASSWORD for a wrong current password and changes nothing', async () => {
      const user = await createUser(app, 'OPERATOR', school.id)
      const session = await login(app, user.email)
      const res = await post(app, '/auth/change-password', { currentPassword: 'not-my-password', newPassword: NEW_PASSWORD }, session.headers)
      expectProblem(res, 400, 'WRONG_PASSWORD')
      expect((await me(app, session.accessToken)).statusCode).toBe(200)
      expect(await app.prisma.auditLog.count({ where: { entityId: user.id } })).toBe(0)
      await login(app, user.email, TEST_PASSWORD)
    })

    it('names the invalid field', async () => {
      const { headers } = await signedInAs(app, 'OPERATOR', school.id)
      expectValidationError(await post(app, '/auth/change-password', { currentPassword: TEST_PASSWORD, newPassword: 'short' }, headers), 'newPassword')
      expectValidationError(await post(app, '/auth/change-password', { newPassword: NEW_PASSWORD }, headers), 'currentPassword')
    })

    it('answers 401 without a token', async () => {
      expectProblem(await post(app, '/auth/change-password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }), 401, 'UNAUTHORIZED')
    })
  })
})

describe('login rate limit per email', async () => {
  const app = await buildTestApp({ LOGIN_MAX_PER_EMAIL_PER_15_MINUTES: '3' })
  const school = await createSchool(app)

  it('answers 429 RATE_LIMITED on the 4th attempt for one email, even with the right password', async () => {
    const user = await createUser(app, 'OPERATOR', school.id)
    for (let i = 0; i < 3; i++) {
      expectProblem(await post(app, '/auth/login', { email: user.email, password: 'wrong-password' }), 401, 'INVALID_CREDENTIALS')
    }
    const res = await post(app, '/auth/login', { email: user.email.toUpperCase(), password: TEST_PASSWORD })
    expectProblem(res, 429, 'RATE_LIMITED')
    expect(res.body).not.toContain('accessToken')
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    // The count follows the email, not the address it comes from.
    const elsewhere = await app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '10.9.8.7', payload: { email: user.email, password: TEST_PASSWORD } })
    expectProblem(elsewhere, 429, 'RATE_LIMITED')
  })

  it('does not hold other emails from the same address back', async () => {
    const other = await createUser(app, 'OPERATOR', school.id)
    await login(app, other.email)
  })
})

describe('login rate limit per IP', async () => {
  const app = await buildTestApp({ LOGIN_MAX_PER_IP_PER_MINUTE: '3' })

  it('answers 429 RATE_LIMITED on the 4th attempt from one IP, whatever the email', async () => {
    for (let i = 0; i < 3; i++) {
      expectProblem(await post(app, '/auth/login', { email: `someone-${i}@example.test`, password: 'wrong-password' }), 401, 'INVALID_CREDENTIALS')
    }
    expectProblem(await post(app, '/auth/login', { email: 'someone-else@example.test', password: 'wrong-password' }), 429, 'RATE_LIMITED')
  })

  it('counts per IP: another address may still try', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '10.1.2.3', payload: { email: 'someone@example.test', password: 'wrong-password' } })
    expectProblem(res, 401, 'INVALID_CREDENTIALS')
  })
})
