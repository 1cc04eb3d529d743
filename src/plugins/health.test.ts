import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../test/helpers/build-test-app.js'
import { readMigrations } from '../db/migrate.js'

let app: TestApp
beforeAll(async () => {
  app = await buildTestApp()
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Every response carries an x-request-id, and a problem body quotes the same id. */
function expectRequestId (res: Awaited<ReturnType<TestApp['inject']>>) {
  const id = res.headers['x-request-id']
  expect(id).toMatch(UUID)
  if (String(res.headers['content-type']).startsWith('application/problem+json')) {
    expect(res.json().requestId).toBe(id)
  }
  return id as string
}

describe('health', () => {
  it('GET /health/live answers 200 ok', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
    expectRequestId(res)
  })

  it('GET /health/ready answers 200 with the database reachable and all migrations applied', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok', database: 'ok', migrations: 'applied' })
    expectRequestId(res)
  })

  it('gives each request its own id', async () => {
    const a = expectRequestId(await app.inject({ method: 'GET', url: '/health/live' }))
    const b = expectRequestId(await app.inject({ method: 'GET', url: '/health/live' }))
    expect(a).not.toBe(b)
  })

  it('GET /health/ready answers 503 MIGRATIONS_PENDING while a migration is not recorded, and 200 again once it is', async () => {
    const [latest] = (await readMigrations()).map((m) => m.name).reverse()
    const saved = await app.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>('SELECT * FROM "_prisma_migrations" WHERE migration_name = $1', latest)
    expect(saved).toHaveLength(1)
    await app.prisma.$executeRawUnsafe('DELETE FROM "_prisma_migrations" WHERE migration_name = $1', latest)
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      const id = expectRequestId(res)
      expect(res.json()).toEqual({
        type: 'about:blank',
        status: 503,
        code: 'MIGRATIONS_PENDING',
        title: 'Service Unavailable',
        detail: `Pending migrations: ${latest}`,
        requestId: id,
      })
    } finally {
      const row = saved[0]
      await app.prisma.$executeRawUnsafe(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        row.id, row.checksum, row.finished_at, row.migration_name, row.logs, row.rolled_back_at, row.started_at, row.applied_steps_count)
    }
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
  })

  it('GET /health/ready counts a rolled-back migration as pending', async () => {
    const [latest] = (await readMigrations()).map((m) => m.name).reverse()
    await app.prisma.$executeRawUnsafe('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1', latest)
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({ code: 'MIGRATIONS_PENDING' })
    } finally {
      await app.prisma.$executeRawUnsafe('UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE migration_name = $1', latest)
    }
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
  })

  it('GET /health/ready answers 503 DATABASE_UNAVAILABLE when the migration history cannot be read', async () => {
    await app.prisma.$executeRawUnsafe('ALTER TABLE "_prisma_migrations" RENAME TO "_prisma_migrations_away"')
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      const id = expectRequestId(res)
      expect(res.json()).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', requestId: id })
    } finally {
      await app.prisma.$executeRawUnsafe('ALTER TABLE "_prisma_migrations_away" RENAME TO "_prisma_migrations"')
    }
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
  })

  it('an unknown route answers 404 problem+json ROUTE_NOT_FOUND with the request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/no/such/route?x=1' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const id = expectRequestId(res)
    expect(res.json()).toEqual({
      type: 'about:blank',
      status: 404,
      code: 'ROUTE_NOT_FOUND',
      title: 'Not Found',
      detail: 'No route GET /no/such/route',
      requestId: id,
    })
  })

  it('an unknown method on a known path is also ROUTE_NOT_FOUND', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/health/live' })
    expect(res.statusCode).toBe(404)
    const id = expectRequestId(res)
    expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND', requestId: id })
  })

  it('errors raised before routing (malformed JSON body) also carry the request id', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email":' })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const id = expectRequestId(res)
    expect(res.json()).toMatchObject({ code: 'INVALID_JSON', requestId: id })
  })
})
