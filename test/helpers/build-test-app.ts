import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { buildApp } from '../../src/app.js'
import { parseEnv, type Config } from '../../src/config.js'
import { createTestDatabase } from './db.js'
import { freePort } from './until.js'

export type TestApp = Awaited<ReturnType<typeof buildApp>>

/**
 * The real app on its own fresh database and data folder, closed (and both
 * removed) after the file's tests. PUBLIC_BASE_URL may be overridden (a test
 * that has terminals push to the app listens on that address).
 */
export async function buildTestApp (env: Record<string, string> = {}) {
  const database = await createTestDatabase()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'facegate-test-data-'))
  const parsed = parseEnv({
    LOG_LEVEL: 'silent',
    LOGIN_MAX_PER_IP_PER_MINUTE: '10000',
    LOGIN_MAX_PER_EMAIL_PER_15_MINUTES: '10000',
    ...env,
  })
  const config: Config = Object.freeze({
    ...parsed,
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    MEDIA_SIGNING_SECRET: 'test-media-secret-that-is-long-enough-0123456789',
    CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64'),
    PUBLIC_BASE_URL: parsed.PUBLIC_BASE_URL ?? 'http://127.0.0.1:3999',
  })
  const app = await buildApp({ config, logger: process.env.TEST_LOG ? { level: 'error' } : false })
  await app.ready()
  afterAll(async () => {
    await app.close()
    await database.drop()
    await rm(dataDir, { recursive: true, force: true })
  })
  return app
}

/** The test app listening on a free loopback port that PUBLIC_BASE_URL names, for terminals that push to it. */
export async function listeningTestApp (env: Record<string, string> = {}) {
  const port = await freePort()
  const app = await buildTestApp({ PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, ...env })
  await app.listen({ host: '127.0.0.1', port })
  return { app, port }
}
