import { createHash, randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { adminQuery, withDatabase } from '../../test/global-setup.js'
import { diffSchemaAgainstDatabase } from '../../test/helpers/schema-drift.js'
import { MIGRATIONS_DIR, MigrationError, migrate, pendingMigrations, readMigrations } from './migrate.js'

const adminUrl = inject('adminDatabaseUrl')
const cleanup: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn()
})

/** A brand-new, empty database (no template with migrations). */
async function emptyDatabase () {
  const name = `facegate_migrate_${randomBytes(6).toString('hex')}`
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`)
  cleanup.push(() => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
  return withDatabase(adminUrl, name)
}

async function query<T extends pg.QueryResultRow> (url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql, params)).rows
  } finally {
    await client.end()
  }
}

interface MigrationRow {
  id: string
  migration_name: string
  checksum: string
  finished_at: Date | null
  started_at: Date
  rolled_back_at: Date | null
  applied_steps_count: number
  logs: string | null
}
const migrationRows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name')

const tableExists = async (url: string, table: string) =>
  (await query<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [`public."${table}"`]))[0].t !== null

const columnExists = async (url: string, table: string, column: string) =>
  (await query(url, 'SELECT 1 FROM information_schema.columns WHERE table_schema = \'public\' AND table_name = $1 AND column_name = $2', [table, column])).length > 0

/** A copy of the real migrations folder that a test may add to or break. */
async function migrationsCopy () {
  const dir = await mkdtemp(path.join(tmpdir(), 'facegate-migrations-'))
  cleanup.push(() => rm(dir, { recursive: true, force: true }))
  await cp(MIGRATIONS_DIR, dir, { recursive: true })
  return dir
}

async function addMigration (dir: string, name: string, sql: string) {
  await mkdir(path.join(dir, name), { recursive: true })
  await writeFile(path.join(dir, name, 'migration.sql'), sql)
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

describe('migrate', () => {
  it('applies every migration exactly once when 4 callers race on a fresh database, recorded the way Prisma does', async () => {
    const url = await emptyDatabase()
    const files = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
    expect(files.length).toBeGreaterThan(0)

    // allSettled: a failing caller must not leave the others running past the test.
    const settled = await Promise.allSettled([migrate(url), migrate(url), migrate(url), migrate(url)])
    expect(settled.map((s) => s.status === 'rejected' ? String(s.reason) : 'ok')).toEqual(['ok', 'ok', 'ok', 'ok'])
    const results = settled.map((s) => (s as PromiseFulfilledResult<string[]>).value)

    // Between them the callers applied each migration once; whoever came later found nothing to do.
    expect(results.flat().sort()).toEqual(files)
    expect(results.filter((r) => r.length > 0)).toHaveLength(1)

    const rows = await migrationRows(url)
    expect(rows.map((r) => r.migration_name)).toEqual(files)
    for (const row of rows) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'))
      expect(row.checksum).toBe(sha256(sql))
      expect(row.finished_at).toBeInstanceOf(Date)
      expect(row.rolled_back_at).toBeNull()
      expect(row.applied_steps_count).toBe(1)
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/)
    }
    // The schema is there and is what schema.prisma describes.
    const schema = await readFile(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8')
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      expect(await diffSchemaAgainstDatabase(schema, client)).toEqual([])
    } finally {
      await client.end()
    }
    expect(await pendingMigrations((sql) => query(url, sql))).toEqual([])

    // A second run applies nothing and leaves the history untouched.
    expect(await migrate(url)).toEqual([])
    expect(await migrationRows(url)).toEqual(rows)
  })

  it('creates _prisma_migrations with the columns Prisma uses', async () => {
    const url = await emptyDatabase()
    await migrate(url)
    const cols = await query<{ column_name: string, data_type: string, is_nullable: string }>(url, `
      SELECT column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = '_prisma_migrations' ORDER BY ordinal_position`)
    expect(cols).toEqual([
      { column_name: 'id', data_type: 'character varying', is_nullable: 'NO' },
      { column_name: 'checksum', data_type: 'character varying', is_nullable: 'NO' },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'migration_name', data_type: 'character varying', is_nullable: 'NO' },
      { column_name: 'logs', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'started_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'applied_steps_count', data_type: 'integer', is_nullable: 'NO' },
    ])
  })

  it('rolls a failing migration back completely, throws MigrationError, and can apply it once fixed', async () => {
    const url = await emptyDatabase()
    const dir = await migrationsCopy()
    const good = (await readMigrations(dir)).map((m) => m.name)
    const broken = '29991231000000_broken'
    await addMigration(dir, broken, [
      'CREATE TABLE "half_applied" ("id" INTEGER NOT NULL);',
      'ALTER TABLE "schools" ADD COLUMN "oops" TEXT;',
      'INSERT INTO "half_applied" VALUES (1);',
      'SELECT * FROM "no_such_table";',
    ].join('\n'))

    const attempt = migrate(url, { dir })
    await expect(attempt).rejects.toBeInstanceOf(MigrationError)
    await expect(attempt).rejects.toThrow(/29991231000000_broken.*no_such_table/)

    // The good migrations before it are applied; nothing of the broken one is.
    expect(await tableExists(url, 'schools')).toBe(true)
    expect(await tableExists(url, 'half_applied')).toBe(false)
    expect(await columnExists(url, 'schools', 'oops')).toBe(false)
    expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual(good)
    expect(await pendingMigrations((sql) => query(url, sql), dir)).toEqual([broken])

    // Running again fails the same way (and does not hang: the advisory lock was released).
    await expect(migrate(url, { dir })).rejects.toBeInstanceOf(MigrationError)

    // Once fixed it applies, recorded with the checksum of the fixed file.
    const fixed = 'CREATE TABLE "half_applied" ("id" INTEGER NOT NULL);\n'
    await writeFile(path.join(dir, broken, 'migration.sql'), fixed)
    expect(await migrate(url, { dir })).toEqual([broken])
    const row = (await migrationRows(url)).find((r) => r.migration_name === broken)
    expect(row).toMatchObject({ checksum: sha256(fixed), applied_steps_count: 1, rolled_back_at: null })
    expect(row?.finished_at).toBeInstanceOf(Date)
    expect(await tableExists(url, 'half_applied')).toBe(true)
  })

  it('leaves a fresh database empty when the first migration fails', async () => {
    const url = await emptyDatabase()
    const dir = await mkdtemp(path.join(tmpdir(), 'facegate-migrations-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    await addMigration(dir, '20000101000000_first', 'CREATE TABLE "a" ("id" INTEGER);\nCREATE TABLE "a" ("id" INTEGER);\n')
    await addMigration(dir, '20000102000000_second', 'CREATE TABLE "b" ("id" INTEGER);\n')

    await expect(migrate(url, { dir })).rejects.toThrow(MigrationError)
    expect(await tableExists(url, 'a')).toBe(false)
    // Later migrations are not attempted after a failure.
    expect(await tableExists(url, 'b')).toBe(false)
    expect(await migrationRows(url)).toEqual([])
  })

  it('refuses to continue past a migration recorded as started but not finished', async () => {
    const url = await emptyDatabase()
    const dir = await migrationsCopy()
    await migrate(url, { dir })
    await addMigration(dir, '29991231000000_next', 'CREATE TABLE "next_one" ("id" INTEGER);\n')
    await query(url, `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, applied_steps_count)
      VALUES ('00000000-0000-4000-8000-000000000001', 'x', '29991231000000_next', 0)`)

    await expect(migrate(url, { dir })).rejects.toThrow(/29991231000000_next.*manual resolution/)
    expect(await tableExists(url, 'next_one')).toBe(false)
  })

  it('does not re-apply a migration edited after it was applied, and says so', async () => {
    const url = await emptyDatabase()
    const dir = await migrationsCopy()
    await addMigration(dir, '29991231000000_extra', 'CREATE TABLE "extra" ("id" INTEGER);\n')
    expect(await migrate(url, { dir })).toContain('29991231000000_extra')
    const before = await migrationRows(url)

    await writeFile(path.join(dir, '29991231000000_extra', 'migration.sql'), 'CREATE TABLE "extra2" ("id" INTEGER);\n')
    const logs: string[] = []
    expect(await migrate(url, { dir, log: (m) => logs.push(m) })).toEqual([])
    expect(logs).toEqual(['migration 29991231000000_extra was modified after it was applied'])
    expect(await tableExists(url, 'extra2')).toBe(false)
    expect(await migrationRows(url)).toEqual(before)
  })
})
