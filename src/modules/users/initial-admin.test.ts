import type { FastifyBaseLogger } from 'fastify'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { verifyPassword } from '../../lib/password.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, createUser, login } from '../../../test/factories/index.js'
import { ensureInitialAdmin } from './initial-admin.js'

const fakeLog = () => {
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() }
  return { log, logger: log as unknown as FastifyBaseLogger }
}

describe('ensureInitialAdmin', async () => {
  const app = await buildTestApp()
  const db = app.prisma

  beforeEach(async () => {
    await db.refreshToken.deleteMany()
    await db.user.deleteMany()
  })

  it('creates a super admin from ADMIN_EMAIL / ADMIN_PASSWORD and prints nothing', async () => {
    const print = vi.fn()
    const { log, logger } = fakeLog()
    const password = 'given-admin-password-1'
    const user = await ensureInitialAdmin(db, { ADMIN_EMAIL: 'Boss@Example.TEST', ADMIN_PASSWORD: password }, logger, print)

    expect(user).toMatchObject({ email: 'boss@example.test', role: 'SUPER_ADMIN', schoolId: null, deletedAt: null })
    expect(print).not.toHaveBeenCalled()
    expect(JSON.stringify(log.info.mock.calls)).not.toContain(password)
    const rows = await db.user.findMany()
    expect(rows).toHaveLength(1)
    expect(rows[0].passwordHash).not.toContain(password)
    expect(await verifyPassword(rows[0].passwordHash, password)).toBe(true)

    const session = await login(app, 'boss@example.test', password)
    const res = await app.inject({ method: 'GET', url: '/api/v1/schools', headers: session.headers })
    expect(res.statusCode).toBe(200)
  })

  it('generates a password, prints it exactly once, and it signs in', async () => {
    const print = vi.fn()
    const { log, logger } = fakeLog()
    const user = await ensureInitialAdmin(db, { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: undefined }, logger, print)
    expect(user).toMatchObject({ email: 'admin@facegate.local', role: 'SUPER_ADMIN' })
    expect(print).toHaveBeenCalledTimes(1)

    const output = String(print.mock.calls[0][0])
    const password = /password:\s*(\S+)/.exec(output)?.[1]
    expect(password).toBeDefined()
    expect(password!.length).toBeGreaterThanOrEqual(12)
    expect(output).toContain('admin@facegate.local')
    expect(JSON.stringify(log.info.mock.calls)).not.toContain(password)
    await login(app, 'admin@facegate.local', password)

    // A second start neither creates another admin nor prints again.
    const again = await ensureInitialAdmin(db, { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: undefined }, logger, print)
    expect(again).toBeNull()
    expect(print).toHaveBeenCalledTimes(1)
    expect(await db.user.count()).toBe(1)
    await login(app, 'admin@facegate.local', password)
  })

  it('generates a different password each time it has to', async () => {
    const passwords: string[] = []
    for (let i = 0; i < 2; i++) {
      await db.user.deleteMany()
      const print = vi.fn()
      await ensureInitialAdmin(db, { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: undefined }, fakeLog().logger, print)
      passwords.push(/password:\s*(\S+)/.exec(String(print.mock.calls[0][0]))![1])
    }
    expect(passwords[0]).not.toBe(passwords[1])
  })

  it('does nothing when a super admin already exists, whatever the configured email', async () => {
    const existing = await createUser(app, 'SUPER_ADMIN', null)
    const print = vi.fn()
    expect(await ensureInitialAdmin(db, { ADMIN_EMAIL: 'someone-new@example.test', ADMIN_PASSWORD: 'given-admin-password-1' }, fakeLog().logger, print)).toBeNull()
    expect(print).not.toHaveBeenCalled()
    expect(await db.user.findMany({ select: { id: true } })).toEqual([{ id: existing.id }])
  })

  it('still creates one when the only super admin was deleted', async () => {
    await createUser(app, 'SUPER_ADMIN', null, { deletedAt: new Date() })
    const user = await ensureInitialAdmin(db, { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: 'given-admin-password-1' }, fakeLog().logger, vi.fn())
    expect(user).toMatchObject({ email: 'admin@facegate.local', role: 'SUPER_ADMIN' })
  })

  it('fails loudly, rather than start without any admin, when ADMIN_EMAIL belongs to a school user', async () => {
    const school = await createSchool(app)
    await createUser(app, 'OPERATOR', school.id, { email: 'admin@facegate.local' })
    const print = vi.fn()
    await expect(ensureInitialAdmin(db, { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: undefined }, fakeLog().logger, print))
      .rejects.toThrow(/ADMIN_EMAIL/)
    expect(print).not.toHaveBeenCalled()
    expect(await db.user.count({ where: { role: 'SUPER_ADMIN' } })).toBe(0)
  })

  it('creates exactly one admin when two processes start at once', async () => {
    const print = vi.fn()
    const config = { ADMIN_EMAIL: 'admin@facegate.local', ADMIN_PASSWORD: undefined }
    const results = await Promise.all([
      ensureInitialAdmin(db, config, fakeLog().logger, print),
      ensureInitialAdmin(db, config, fakeLog().logger, print),
    ])
    expect(results.filter((r) => r !== null)).toHaveLength(1)
    expect(await db.user.count({ where: { role: 'SUPER_ADMIN' } })).toBe(1)
    expect(print).toHaveBeenCalledTimes(1)
  })
})
