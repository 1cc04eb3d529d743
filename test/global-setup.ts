import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import pg from 'pg'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { migrate } from '../src/db/migrate.js'

declare module 'vitest' {
  export interface ProvidedContext { adminDatabaseUrl: string, templateDatabase: string }
}

/**
 * One Postgres for the run: TEST_DATABASE_URL's server when given, else an
 * embedded one. A migrated template database is made once; every test file
 * clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 */
export default async function setup (project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL
  let stopEmbedded: (() => Promise<void>) | undefined
  let dataDir: string | undefined
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'facegate-test-pg-'))
    await chmod(dataDir, 0o777)
    const port = 55_000 + (process.pid % 5000)
    const db = await startEmbeddedPostgres({ dataDir, port, password: 'facegate-test', database: 'postgres' })
    adminUrl = db.url
    stopEmbedded = db.stop
  }
  const template = `facegate_tpl_${process.pid}_${Date.now()}`
  await adminQuery(adminUrl, `CREATE DATABASE "${template}"`)
  await migrate(withDatabase(adminUrl, template))
  project.provide('adminDatabaseUrl', adminUrl)
  project.provide('templateDatabase', template)

  return async () => {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`)
    await stopEmbedded?.()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  }
}

export function withDatabase (url: string, database: string) {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export async function adminQuery (url: string, sql: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(sql)
  } finally {
    await client.end()
  }
}
