/**
 * What the benchmarks share: clean-up whatever happens, child processes (the real server among
 * them), a scratch database, an API client, /proc and pg_stat_activity sampling, number formats.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFile, readdir, stat } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'

export const ROOT = path.resolve(import.meta.dirname, '..')

// ---------- clean-up, whatever happens ----------

const cleanups: Array<{ what: string, run: () => Promise<unknown> }> = []
let cleaning: Promise<void> | undefined

/** Registers a clean-up step; they run in reverse order. */
export function onCleanUp (what: string, run: () => Promise<unknown>) {
  cleanups.push({ what, run })
}

export function cleanUp () {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run()
      } catch (err) {
        console.error(`clean-up (${c.what}) failed: ${(err as Error).message}`)
      }
    }
  })()
  return cleaning
}

/** Runs a benchmark: cleans up on success, failure and Ctrl-C; exits 0 only when `run` says it passed. */
export async function runBench (name: string, run: () => Promise<boolean>) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up`)
      cleanUp().finally(() => process.exit(130)).catch(() => {})
    })
  }
  let ok = false
  try {
    ok = await run()
  } catch (err) {
    console.error(`${name} failed: ${(err as Error).message}`)
  } finally {
    await cleanUp()
  }
  process.exit(ok ? 0 : 1)
}

// ---------- child processes ----------

export interface Child { proc: ChildProcess, name: string, tail: () => string }

export function startChild (name: string, script: string, args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Child {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : []
  const proc = spawn(process.execPath, [...nodeFlags, ...loader, script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  onCleanUp(`stop ${name}`, () => stopChild(proc))
  return { proc, name, tail: () => stderr.trim() }
}

async function stopChild (proc: ChildProcess) {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.kill('SIGTERM')
  if (await Promise.race([exited.then(() => true), sleep(12_000, false)])) return
  proc.kill('SIGKILL')
  await exited
}

export function exitedEarly (c: Child) {
  return new Promise<never>((_resolve, reject) => {
    c.proc.once('exit', (code, signal) => reject(new Error(`${c.name} exited (${signal ?? code}) before it was ready:\n${c.tail()}`)))
  })
}

export function timeout (seconds: number, what: string) {
  return sleep(seconds * 1000).then(() => { throw new Error(`${what}: no answer within ${seconds} s`) })
}

async function freePort () {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const PASSED_ENV = /^(SYNC_|DB_POOL_MAX$|ISAPI_|FACE_UPLOAD_MODE$|MALLOC_ARENA_MAX$|MALLOC_MMAP_THRESHOLD_$|MALLOC_TRIM_THRESHOLD_$|UV_THREADPOOL_SIZE$)/

export interface ServerOptions {
  /** node dist/server.js as `npm start` runs it (built first if src/ changed), or node --import tsx src/server.ts. */
  server: 'tsx' | 'dist'
  databaseUrl: string
  dataDir: string
  adminPassword: string
  /** Set after the variables passed on from the environment, so they win. */
  env?: NodeJS.ProcessEnv
  cpuProfDir?: string
  heapSnapshotDir?: string
}

async function newestChange (dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  const times = await Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await stat(path.join(e.parentPath, e.name))).mtimeMs))
  return Math.max(0, ...times)
}

/** The --server option of the benchmarks: how the server (and the simulators) run. */
export const SERVER_USAGE = `  --server dist|tsx       node dist/server.js as npm start runs it (default; built first when src/ changed)
                          or node --import tsx src/server.ts`
export function serverOption (value: string | undefined): 'dist' | 'tsx' {
  if (value !== 'tsx' && value !== 'dist') throw new Error(`--server must be dist (dist/server.js, built if stale) or tsx (src/server.ts), got "${value}"`)
  return value
}

let buildChecked: Promise<void> | undefined
/** `npm run build` unless dist/server.js is newer than every file under src/ and prisma/ (checked once per run). */
export function buildIfStale () {
  buildChecked ??= buildNow()
  return buildChecked
}

async function buildNow () {
  const built = await stat(path.join(ROOT, 'dist/server.js')).then((s) => s.mtimeMs, () => 0)
  const changed = Math.max(await newestChange(path.join(ROOT, 'src')), await newestChange(path.join(ROOT, 'prisma')))
  if (built > changed) return
  process.stderr.write('[bench] dist/ is older than src/: npm run build\n')
  const res = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  if (res.status !== 0) throw new Error('npm run build failed')
}

/** The node flags before dist/server.js in an npm script (`… exec node --a --b dist/server.js`). */
export function nodeFlagsOf (script: string) {
  const node = /\bexec node ((?:--\S+ )*)dist\/server\.js/.exec(script)
  if (!node) throw new Error(`cannot find the node command in: ${script}`)
  return node[1].trim().split(' ').filter(Boolean)
}

/** The node flags of `npm run serve` (and so of npm start), read from package.json. */
export function serveNodeFlags () {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  return nodeFlagsOf(pkg.scripts.serve)
}

/** The real server on a free loopback port, LOG_LEVEL=warn; resolves once /health/ready answers. */
export async function startServer (o: ServerOptions) {
  if (o.server === 'dist') await buildIfStale()
  const port = await freePort()
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k]) => PASSED_ENV.test(k)))
  const child = startChild('server', o.server === 'dist' ? 'dist/server.js' : 'src/server.ts', [], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // As npm start and the Dockerfile run it, unless the environment says otherwise.
    MALLOC_ARENA_MAX: '2',
    ...passed,
    DATABASE_URL: o.databaseUrl,
    DATA_DIR: o.dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    ADMIN_PASSWORD: o.adminPassword,
    ...o.env,
  }, [
    // As npm start runs it (its V8 flags keep the heap small).
    ...serveNodeFlags().filter((f) => o.server === 'dist' || f !== '--enable-source-maps'),
    // e.g. BENCH_NODE_FLAGS="--max-semi-space-size=2" to try V8 memory settings on the server.
    ...(process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
    ...(o.heapSnapshotDir ? ['--heapsnapshot-signal=SIGWINCH', '--diagnostic-dir', o.heapSnapshotDir] : []),
  ])
  child.proc.stdout!.resume()
  const base = `http://127.0.0.1:${port}`
  const ready = (async () => {
    while (child.proc.exitCode === null) {
      if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return
      await sleep(200)
    }
  })()
  await Promise.race([ready, exitedEarly(child), timeout(120, 'server start')])
  return { child, base }
}

// ---------- /proc ----------

const CLOCK_TICKS = 100

export async function procStatusKb (pid: number, field: 'VmRSS' | 'VmHWM') {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
}

export async function cpuSeconds (pid: number) {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** Samples a process's resident set every 200 ms; `peakKb()` is the highest seen. */
export function sampleRss (pid: number) {
  let peakKb = 0
  const timer = setInterval(() => {
    procStatusKb(pid, 'VmRSS').then((kb) => { peakKb = Math.max(peakKb, kb) }, () => {})
  }, 200)
  onCleanUp('stop RSS sampler', async () => clearInterval(timer))
  return { stop: () => clearInterval(timer), peakKb: () => peakKb }
}

/** CPU seconds of the Postgres backends serving this database now (their lifetime, i.e. about this run). */
export async function postgresCpuSeconds (db: pg.Client) {
  const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
  const each = await Promise.all(rows.map((r) => cpuSeconds(r.pid).catch(() => 0)))
  return { backends: rows.length, seconds: each.reduce((n, c) => n + c, 0) }
}

/** What the server's database sessions are doing, sampled: lock waits on hot rows, WAL flushes, CPU. */
export function sampleWaits (db: pg.Client) {
  const counts = new Map<string, number>()
  let samples = 0
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    db.query<{ what: string, n: string }>(`
      SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS what, count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`).then(({ rows }) => {
      samples++
      for (const r of rows) counts.set(r.what, (counts.get(r.what) ?? 0) + Number(r.n))
    }, () => {}).finally(() => { busy = false })
  }, 100)
  onCleanUp('stop wait sampler', async () => clearInterval(timer))
  return {
    stop: () => clearInterval(timer),
    /** Average number of sessions in each state, busiest first. */
    summary: () => [...counts].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([what, n]) => `${what} ${fmt(n / Math.max(1, samples), 2)}`).join(', '),
  }
}

// ---------- database ----------

/**
 * A fresh database on BENCH_DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/postgres),
 * dropped at clean-up; returns its URL. The server migrates it when it starts.
 */
export async function createScratchDatabase (asyncCommit: boolean) {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
  const name = `facegate_bench_${Date.now()}_${process.pid}`
  const admin = new pg.Client({ connectionString: adminUrl })
  try {
    await admin.connect()
  } catch (err) {
    throw new Error(`No Postgres at ${adminUrl.replace(/\/\/[^@]*@/, '//…@')} (${(err as Error).message}). ` +
      'Start one, or set BENCH_DATABASE_URL to a server where this user may CREATE DATABASE.')
  }
  await admin.query(`CREATE DATABASE "${name}"`)
  if (asyncCommit) await admin.query(`ALTER DATABASE "${name}" SET synchronous_commit = off`)
  onCleanUp(`drop database ${name}`, async () => {
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    } finally {
      await admin.end()
    }
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A client on the scratch database, closed at clean-up. */
export async function connectDatabase (databaseUrl: string) {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  onCleanUp('close database client', () => db.end())
  return db
}

/**
 * Active students straight into the table (the API would make seeding the slow part), employeeNo
 * 100001…; with `photos`, each points at /uploads/student-faces/<id>-1.jpg (the caller writes them).
 */
export async function insertStudents (db: pg.Client, schoolId: string, count: number, photos: boolean) {
  const { rows } = await db.query<{ id: string, employee_no: string }>(`
    INSERT INTO students (id, school_id, employee_no, first_name, last_name, gender, status, photo_url, photo_version, version, created_at, updated_at)
    SELECT id, $1::uuid, (100000 + n)::text, 'Student', 'Number ' || n, (CASE WHEN n % 2 = 0 THEN 'male' ELSE 'female' END)::"Gender",
           'active', CASE WHEN $3::boolean THEN '/uploads/student-faces/' || id || '-1.jpg' END, CASE WHEN $3::boolean THEN 1 ELSE 0 END, 1, now(), now()
    FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $2::int) AS n) s
    RETURNING id, employee_no`, [schoolId, count, photos])
  return rows
}

// ---------- the API ----------

export function apiClient (base: string) {
  let token = ''
  async function call<T> (method: string, url: string, body?: unknown): Promise<T> {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${text.slice(0, 500)}`)
    return (text ? JSON.parse(text) : undefined) as T
  }
  return {
    call,
    async login (email: string, password: string) {
      token = (await call<{ accessToken: string }>('POST', '/api/v1/auth/login', { email, password })).accessToken
    },
    /** V8 heap used and memory outside it (Buffers, WASM), in MB, from the process metrics. */
    async heap () {
      const text = await (await fetch(`${base}/metrics`)).text()
      const mb = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576
      return { used: mb('nodejs_heap_size_used_bytes'), total: mb('nodejs_heap_size_total_bytes'), external: mb('nodejs_external_memory_bytes') }
    },
    /** Event-loop delay since the previous scrape (prom-client resets its histogram on each), in ms. */
    async eventLoopDelay () {
      const text = await (await fetch(`${base}/metrics`)).text()
      const ms = (name: string) => Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1] ?? NaN) * 1000
      return { p50: ms('p50'), p99: ms('p99'), max: ms('max') }
    },
    /** ISAPI calls so far by operation (`op` when ok, else `op:CODE`): how many, and their summed duration. */
    async isapiCalls () {
      const text = await (await fetch(`${base}/metrics`)).text()
      const byOperation = new Map<string, { count: number, seconds: number }>()
      for (const m of text.matchAll(/^isapi_request_duration_seconds_(sum|count)\{operation="([^"]+)",outcome="([^"]+)"\} (\S+)/gm)) {
        const key = m[3] === 'ok' ? m[2] : `${m[2]}:${m[3]}`
        const entry = byOperation.get(key) ?? { count: 0, seconds: 0 }
        if (m[1] === 'count') entry.count += Number(m[4])
        else entry.seconds += Number(m[4])
        byOperation.set(key, entry)
      }
      return byOperation
    },
  }
}

export type ApiClient = ReturnType<typeof apiClient>

// ---------- numbers ----------

export const quantile = (sorted: number[], q: number) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
export const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const int = (n: number) => n.toLocaleString('en-US')

/** `key  value` lines under a title, keys padded to one column. */
export function printRows (title: string, rows: Array<[string, string]>) {
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log(`\n${title}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}`)
}
