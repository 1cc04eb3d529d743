import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

// Any constant works; it only has to be the same in every process of this app.
const MIGRATION_LOCK_KEY = 72_707_369

interface Migration { name: string, sql: string, checksum: string }

// The table exactly as Prisma creates it, so `prisma migrate deploy` accepts our history.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

export async function readMigrations (dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
  return Promise.all(names.map(async (name) => {
    const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8')
    return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
  }))
}

export class MigrationError extends Error {}

/**
 * Applies pending migrations under a Postgres advisory lock, so several
 * processes starting at once apply each migration exactly once.
 */
export async function migrate (databaseUrl: string, { dir = MIGRATIONS_DIR, log = (_msg: string) => {} } = {}) {
  const migrations = await readMigrations(dir)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const applied: string[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query(CREATE_MIGRATIONS_TABLE)
    const done = await client.query<{ migration_name: string, checksum: string, finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL'
    )
    const byName = new Map(done.rows.map((r) => [r.migration_name, r]))
    for (const m of migrations) {
      const row = byName.get(m.name)
      if (row?.finished_at) {
        if (row.checksum !== m.checksum) log(`migration ${m.name} was modified after it was applied`)
        continue
      }
      if (row) throw new MigrationError(`migration ${m.name} failed earlier and needs manual resolution`)
      await applyOne(client, m)
      applied.push(m.name)
      log(`applied migration ${m.name}`)
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
    await client.end()
  }
  return applied
}

async function applyOne (client: pg.Client, m: Migration) {
  const id = randomUUID()
  await client.query('BEGIN')
  try {
    await client.query(m.sql)
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), now(), 1)`,
      [id, m.checksum, m.name]
    )
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK')
    throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`)
  }
}

/** Names of migration files that are not recorded as applied (for /health/ready). */
export async function pendingMigrations (query: (sql: string) => Promise<Array<{ migration_name: string }>>, dir = MIGRATIONS_DIR) {
  const files = await readMigrations(dir)
  const rows = await query('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL')
  const applied = new Set(rows.map((r) => r.migration_name))
  return files.map((f) => f.name).filter((n) => !applied.has(n))
}
