/**
 * Sync benchmark (not a test): simulated terminals in child processes, the real server in another,
 * a fresh database; pushes every student to every terminal and reports makespan against the floor
 * (one terminal's serial work), device calls per second and the server's peak RSS.
 *
 *   npm run bench:sync -- --students 500 --devices 10 --latency-user 10 --latency-face 30 [--concurrency N]
 *
 * BENCH_DATABASE_URL names a Postgres server (and a database to connect to there) where the user may
 * CREATE DATABASE; default postgresql://postgres@127.0.0.1:5432/postgres. A scratch database is
 * created there and dropped at the end, with the temp data dir and every child process, also on
 * failure or Ctrl-C. SYNC_*, DB_POOL_MAX, ISAPI_*, FACE_UPLOAD_MODE, MALLOC_ARENA_MAX and
 * UV_THREADPOOL_SIZE from the environment are passed on to the server.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import sharp from 'sharp'
import { normaliseFacePhoto } from '../src/lib/face-photo.js'
import { startSimulatedTerminals } from '../src/simulator/terminal.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const SIM_USER = 'admin'
const SIM_PASSWORD = 'Sim12345'
const FINISHED = new Set(['succeeded', 'partial', 'failed', 'cancelled'])
const POLL_MS = 500
// The design in ../shared/seeds/003_791ff7c16f7b103f.txt: one call at a time, 1 s pause after each.
const SEQUENTIAL_PAUSE_S = 1
const CALLS_PER_PERSON = 2
const SIMULATOR_CHILD = '--simulator-child'

const USAGE = `Usage: npm run bench:sync -- [options]

  --students N            students, each with a face photo (default 500)
  --devices N             simulated terminals (default 10)
  --latency-user MS       terminal work per UserInfo call (default 10)
  --latency-face MS       terminal work per FDLib call (default 30)
  --concurrency N         SYNC_CONCURRENCY of the server (default = devices)
  --sim-processes N       child processes the terminals are spread over (default 2)
  --timeout S             give up after S seconds (default max(300, 4 × floor))
  --server tsx|dist       node --import tsx src/server.ts (default) or node dist/server.js (npm run build first)

Diagnostics:
  --async-commit          synchronous_commit=off on the scratch database (what per-item WAL flushes cost)
  --nonce-dies-on-use N   simulated firmware whose Digest nonce dies on use N (default 3, as the DS-K1T342)
  --cpu-prof DIR          the server writes a V8 CPU profile into DIR when it stops
  --heap-snapshot DIR     after the job: a full GC and a heap snapshot in DIR, then the live heap is printed`

// ---------- arguments ----------

function readArgs () {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      students: { type: 'string', default: '500' },
      devices: { type: 'string', default: '10' },
      'latency-user': { type: 'string', default: '10' },
      'latency-face': { type: 'string', default: '30' },
      concurrency: { type: 'string' },
      'sim-processes': { type: 'string', default: '2' },
      timeout: { type: 'string' },
      server: { type: 'string', default: 'tsx' },
      'async-commit': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'nonce-dies-on-use': { type: 'string' },
      'heap-snapshot': { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`)
    return n
  }
  const students = int('students', values.students, 1)
  const devices = int('devices', values.devices, 1)
  const latencyUser = int('latency-user', values['latency-user'], 0)
  const latencyFace = int('latency-face', values['latency-face'], 0)
  const floorS = students * (latencyUser + latencyFace) / 1000
  if (values.server !== 'tsx' && values.server !== 'dist') throw new Error(`--server must be tsx (src/server.ts) or dist (dist/server.js after npm run build), got "${values.server}"`)
  return {
    server: values.server,
    asyncCommit: values['async-commit'] === true,
    cpuProfDir: values['cpu-prof'] && path.resolve(values['cpu-prof']),
    heapSnapshotDir: values['heap-snapshot'] && path.resolve(values['heap-snapshot']),
    nonceDiesOnUse: values['nonce-dies-on-use'] === undefined ? undefined : int('nonce-dies-on-use', values['nonce-dies-on-use'], 2),
    students, devices, latencyUser, latencyFace, floorS,
    concurrency: values.concurrency === undefined ? devices : int('concurrency', values.concurrency, 1),
    simProcesses: Math.min(devices, int('sim-processes', values['sim-processes'], 1)),
    timeoutS: values.timeout === undefined ? Math.max(300, Math.ceil(floorS * 4)) : int('timeout', values.timeout, 1),
  }
}
type Args = ReturnType<typeof readArgs>

// ---------- clean-up, whatever happens ----------

const cleanups: Array<{ what: string, run: () => Promise<unknown> }> = []
let cleaning: Promise<void> | undefined

function cleanUp () {
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

// ---------- child processes ----------

interface Child { proc: ChildProcess, name: string, tail: () => string }

function startChild (name: string, script: string, args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Child {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : ['--enable-source-maps']
  const proc = spawn(process.execPath, [...nodeFlags, ...loader, script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  cleanups.push({ what: `stop ${name}`, run: () => stopChild(proc) })
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

function exitedEarly (c: Child) {
  return new Promise<never>((_resolve, reject) => {
    c.proc.once('exit', (code, signal) => reject(new Error(`${c.name} exited (${signal ?? code}) before it was ready:\n${c.tail()}`)))
  })
}

/**
 * Starts `count` terminals in one simulator process; resolves with their URLs as it prints them.
 * Not `src/simulator/cli.ts`: it numbers its terminals from 0 in every process, so two processes
 * would serve the same serial (and test-connection would refuse the second as a duplicate).
 */
async function startSimulators (index: number, firstIndex: number, count: number, a: Args) {
  const child = startChild(`simulator ${index + 1}`, 'scripts/bench-sync.ts', [
    SIMULATOR_CHILD, '--first-index', String(firstIndex), '--devices', String(count),
    '--latency-user', String(a.latencyUser), '--latency-face', String(a.latencyFace),
    ...(a.nonceDiesOnUse ? ['--nonce-dies-on-use', String(a.nonceDiesOnUse)] : []),
  ], { PATH: process.env.PATH, HOME: process.env.HOME })
  const urls: string[] = []
  const printed = new Promise<string[]>((resolve) => {
    createInterface({ input: child.proc.stdout! }).on('line', (line) => {
      const m = /^#\d+ (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim())
      if (m) urls.push(m[1])
      if (urls.length === count) resolve(urls)
    })
  })
  return { child, urls: await Promise.race([printed, exitedEarly(child), timeout(60, `simulator ${index + 1} start`)]) }
}

function timeout (seconds: number, what: string) {
  return sleep(seconds * 1000).then(() => { throw new Error(`${what}: no answer within ${seconds} s`) })
}

async function freePort () {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const PASSED_ENV = /^(SYNC_|DB_POOL_MAX$|ISAPI_|FACE_UPLOAD_MODE$|MALLOC_ARENA_MAX$|UV_THREADPOOL_SIZE$)/

async function startServer (a: Args, databaseUrl: string, dataDir: string, adminPassword: string) {
  const port = await freePort()
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k]) => PASSED_ENV.test(k)))
  const child = startChild('server', a.server === 'dist' ? 'dist/server.js' : 'src/server.ts', [], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...passed,
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    ADMIN_PASSWORD: adminPassword,
    SYNC_CONCURRENCY: String(a.concurrency),
  }, [
    ...(a.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', a.cpuProfDir] : []),
    ...(a.heapSnapshotDir ? ['--heapsnapshot-signal=SIGWINCH', '--diagnostic-dir', a.heapSnapshotDir] : []),
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

async function procStatusKb (pid: number, field: 'VmRSS' | 'VmHWM') {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
}

async function cpuSeconds (pid: number) {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** CPU seconds of the Postgres backends serving this database now (their lifetime, i.e. about this run). */
async function postgresCpuSeconds (db: pg.Client) {
  const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
  const each = await Promise.all(rows.map((r) => cpuSeconds(r.pid).catch(() => 0)))
  return { backends: rows.length, seconds: each.reduce((n, c) => n + c, 0) }
}

/** What the server's database sessions are doing, sampled: lock waits on hot rows, WAL flushes, CPU. */
function sampleWaits (db: pg.Client) {
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
  return {
    stop: () => clearInterval(timer),
    /** Average number of sessions in each state, busiest first. */
    summary: () => [...counts].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([what, n]) => `${what} ${fmt(n / Math.max(1, samples), 2)}`).join(', '),
  }
}

/**
 * Writing a heap snapshot collects garbage first, so the heap used right after it is what is really
 * retained. SIGWINCH: close-with-grace shuts the server down on SIGUSR2.
 */
async function snapshotHeap (proc: ChildProcess, dir: string, api: ReturnType<typeof apiClient>) {
  await mkdir(dir, { recursive: true })
  const before = new Set(await readdir(dir))
  proc.kill('SIGWINCH')
  for (let i = 0; i < 600; i++) {
    await sleep(500)
    const file = (await readdir(dir)).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'))
    if (!file) continue
    // The server answers again once the (synchronous) snapshot is written.
    const heap = await api.heap()
    return { file: path.join(dir, file), used: heap.used, rssMb: await procStatusKb(proc.pid!, 'VmRSS') / 1024 }
  }
  throw new Error('the heap snapshot did not appear within 5 minutes')
}

// ---------- database ----------

async function createScratchDatabase (asyncCommit: boolean) {
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
  cleanups.push({
    what: `drop database ${name}`,
    run: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await admin.end()
      }
    },
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Students straight into the table (the API would make seeding the slow part), each with a JPEG on disk. */
async function seedStudents (db: pg.Client, schoolId: string, count: number, uploadsDir: string) {
  const { rows } = await db.query<{ id: string }>(`
    INSERT INTO students (id, school_id, employee_no, first_name, last_name, gender, status, photo_url, photo_version, version, created_at, updated_at)
    SELECT id, $1::uuid, (100000 + n)::text, 'Student', 'Number ' || n, (CASE WHEN n % 2 = 0 THEN 'male' ELSE 'female' END)::"Gender",
           'active', '/uploads/student-faces/' || id || '-1.jpg', 1, 1, now(), now()
    FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $2::int) AS n) s
    RETURNING id`, [schoolId, count])
  const dir = path.join(uploadsDir, 'student-faces')
  await mkdir(dir, { recursive: true })
  const pool = await facePhotos(8)
  const poolFiles = await Promise.all(pool.map(async (jpeg, i) => {
    const file = path.join(dir, `pool-${i}.jpg`)
    await writeFile(file, jpeg)
    return file
  }))
  // Hard links: one real JPEG file per student without count × photo size of disk.
  for (let i = 0; i < rows.length; i += 200) {
    await Promise.all(rows.slice(i, i + 200).map(async ({ id }, j) => {
      const from = poolFiles[(i + j) % poolFiles.length]
      const to = path.join(dir, `${id}-1.jpg`)
      await link(from, to).catch(() => copyFile(from, to))
    }))
  }
  return { photoBytes: Math.round(pool.reduce((n, b) => n + b.length, 0) / pool.length) }
}

/** Portrait-sized pictures with some texture, normalised exactly as uploads are. */
async function facePhotos (count: number) {
  const w = 480
  const h = 640
  return Promise.all(Array.from({ length: count }, async (_, k) => {
    const raw = Buffer.alloc(w * h * 3)
    let seed = k + 1
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        const noise = (seed >> 24) - 64
        const base = 128 + 70 * Math.sin((x + 13 * k) / 37) * Math.cos((y - 7 * k) / 53)
        for (let c = 0; c < 3; c++) raw[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, base + noise / (c + 2) + 20 * c))
      }
    }
    const jpeg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 92 }).toBuffer()
    return (await normaliseFacePhoto(jpeg)).jpeg
  }))
}

// ---------- the API ----------

function apiClient (base: string) {
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
    async isapiCalls () {
      const text = await (await fetch(`${base}/metrics`)).text()
      const byOperation = new Map<string, number>()
      for (const m of text.matchAll(/^isapi_requests_total\{operation="([^"]+)",outcome="([^"]+)"\} (\d+)/gm)) {
        const key = m[2] === 'ok' ? m[1] : `${m[1]}:${m[2]}`
        byOperation.set(key, (byOperation.get(key) ?? 0) + Number(m[3]))
      }
      return byOperation
    },
  }
}

interface JobDetail {
  id: string
  status: string
  progress: { done: number, total: number }
  counts: { success: number, failed: number, skipped: number }
  lastError: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

interface SimState {
  users: unknown[]
  faces: unknown[]
  maxConcurrentRequests: number
  requests: Array<{ method: string, path: string, status: number }>
}

// ---------- analysis ----------

const quantile = (sorted: number[], q: number) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

/** Per device: when its share started after the job was created, how long it ran, the time between items and its stalls. */
async function shareTimeline (db: pg.Client, jobId: string, createdAt: number, perItemFloorMs: number) {
  const shares = await db.query<{ device_id: string, started_at: Date, finished_at: Date }>(
    'SELECT device_id, started_at, finished_at FROM sync_job_devices WHERE job_id = $1', [jobId])
  const items = await db.query<{ device_id: string, t: string }>(
    'SELECT device_id, extract(epoch FROM finished_at) * 1000 AS t FROM sync_job_items WHERE job_id = $1 AND finished_at IS NOT NULL ORDER BY device_id, finished_at', [jobId])
  const gaps: number[] = []
  let stallMs = 0
  let stalls = 0
  let prev: { device: string, t: number } | undefined
  for (const row of items.rows) {
    const t = Number(row.t)
    if (prev?.device === row.device_id) {
      const gap = t - prev.t
      gaps.push(gap)
      if (gap > perItemFloorMs + 250) {
        stalls++
        stallMs += gap - perItemFloorMs
      }
    }
    prev = { device: row.device_id, t }
  }
  gaps.sort((x, y) => x - y)
  const lags = shares.rows.map((s) => s.started_at.getTime() - createdAt).sort((x, y) => x - y)
  const spans = shares.rows.map((s) => s.finished_at.getTime() - s.started_at.getTime()).sort((x, y) => x - y)
  return {
    startLagMs: { min: lags[0], max: lags[lags.length - 1] },
    shareSeconds: { min: spans[0] / 1000, max: spans[spans.length - 1] / 1000 },
    itemGapMs: { p50: quantile(gaps, 0.5), p90: quantile(gaps, 0.9), p99: quantile(gaps, 0.99), max: gaps[gaps.length - 1] },
    stalls: { count: stalls, seconds: stallMs / 1000 / Math.max(1, shares.rows.length) },
  }
}

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const int = (n: number) => n.toLocaleString('en-US')

function duration (seconds: number) {
  if (seconds < 120) return `${fmt(seconds)} s`
  if (seconds < 7200) return `${fmt(seconds / 60)} min`
  return `${fmt(seconds / 3600)} h`
}

// ---------- the run ----------

async function run (a: Args) {
  const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'facegate-bench-'))
  cleanups.push({ what: `remove ${tmp}`, run: () => rm(tmp, { recursive: true, force: true }) })
  const dataDir = path.join(tmp, 'data')

  const databaseUrl = await createScratchDatabase(a.asyncCommit)
  log(`database ${new URL(databaseUrl).pathname.slice(1)}; data in ${dataDir}`)

  const perProcess = Array.from({ length: a.simProcesses }, (_, i) => Math.floor(a.devices / a.simProcesses) + (i < a.devices % a.simProcesses ? 1 : 0))
  const sims = await Promise.all(perProcess.map((count, i) => startSimulators(i, perProcess.slice(0, i).reduce((n, c) => n + c, 0), count, a)))
  const terminalUrls = sims.flatMap((s) => s.urls)
  log(`${terminalUrls.length} terminals in ${sims.length} simulator process(es)`)

  const adminPassword = randomBytes(12).toString('base64url')
  const server = await startServer(a, databaseUrl, dataDir, adminPassword)
  const pid = server.child.proc.pid!
  log(`server pid ${pid} at ${server.base}`)

  const api = apiClient(server.base)
  await api.login('admin@facegate.local', adminPassword)
  const school = await api.call<{ id: string }>('POST', '/api/v1/schools', { name: 'Bench School', code: 'bench', timezone: 'Asia/Tashkent' })

  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  cleanups.push({ what: 'close database client', run: () => db.end() })
  const seeded = Date.now()
  const { photoBytes } = await seedStudents(db, school.id, a.students, path.join(dataDir, 'uploads'))
  log(`seeded ${int(a.students)} students with photos (~${fmt(photoBytes / 1024, 0)} KB) in ${fmt((Date.now() - seeded) / 1000)} s`)

  const setUp = await Promise.all(terminalUrls.map(async (url, i) => {
    const port = Number(new URL(url).port)
    const device = await api.call<{ id: string }>('POST', `/api/v1/schools/${school.id}/devices`, {
      name: `Gate ${i + 1}`, direction: 'in', host: '127.0.0.1', port, username: SIM_USER, password: SIM_PASSWORD,
    })
    const test = await api.call<{ capabilities: { users?: { supportsSetUp?: boolean } } }>('POST', `/api/v1/schools/${school.id}/devices/${device.id}/test-connection`)
    return test.capabilities.users?.supportsSetUp === true
  }))

  const callsBefore = await api.isapiCalls()
  const rssIdleMb = await procStatusKb(pid, 'VmRSS') / 1024
  const heapIdle = await api.heap()
  const cpuBefore = await cpuSeconds(pid)
  let rssPeakKb = 0
  const sampler = setInterval(() => {
    procStatusKb(pid, 'VmRSS').then((kb) => { rssPeakKb = Math.max(rssPeakKb, kb) }, () => {})
  }, 200)
  cleanups.push({ what: 'stop RSS sampler', run: async () => clearInterval(sampler) })

  const simCpuBefore = await Promise.all(sims.map((s) => cpuSeconds(s.child.proc.pid!)))
  const waits = sampleWaits(db)
  cleanups.push({ what: 'stop wait sampler', run: async () => waits.stop() })
  const posted = Date.now()
  const { jobId } = await api.call<{ jobId: string }>('POST', `/api/v1/schools/${school.id}/sync`, {})
  let job: JobDetail
  let lastLog = 0
  for (;;) {
    job = await api.call<JobDetail>('GET', `/api/v1/jobs/${jobId}`)
    if (FINISHED.has(job.status)) break
    if (Date.now() - posted > a.timeoutS * 1000) throw new Error(`the job did not finish within ${a.timeoutS} s (${job.progress.done}/${job.progress.total}); raise --timeout`)
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now()
      log(`${job.status} ${int(job.progress.done)}/${int(job.progress.total)} after ${fmt((Date.now() - posted) / 1000)} s`)
    }
    await sleep(POLL_MS)
  }
  const observedS = (Date.now() - posted) / 1000
  clearInterval(sampler)
  waits.stop()
  const cpuS = await cpuSeconds(pid) - cpuBefore
  const simCpuS = (await Promise.all(sims.map((s) => cpuSeconds(s.child.proc.pid!)))).reduce((n, c, i) => n + c - simCpuBefore[i], 0)
  const pgCpu = await postgresCpuSeconds(db)
  const rssHwmMb = await procStatusKb(pid, 'VmHWM') / 1024
  const callsAfter = await api.isapiCalls()
  const heapEnd = await api.heap()
  const heapAfterGc = a.heapSnapshotDir ? await snapshotHeap(server.child.proc, a.heapSnapshotDir, api) : undefined

  const createdAt = Date.parse(job.createdAt)
  const makespanS = (Date.parse(job.finishedAt!) - createdAt) / 1000
  const calls = [...callsAfter].map(([op, n]) => [op, n - (callsBefore.get(op) ?? 0)] as const).filter(([, n]) => n > 0)
  const totalCalls = calls.reduce((sum, [, n]) => sum + n, 0)
  const timeline = await shareTimeline(db, jobId, createdAt, a.latencyUser + a.latencyFace)

  const states = await Promise.all(terminalUrls.map(async (url) => (await fetch(`${url}/_sim/state`)).json() as Promise<SimState>))
  const complete = states.filter((s) => s.users.length === a.students && s.faces.length === a.students).length
  const logged = states.flatMap((s) => s.requests.filter((r) => !r.path.startsWith('/_sim')))
  const challenged = logged.filter((r) => r.status === 401)
  const challengedOn = new Map<string, number>()
  for (const r of challenged) {
    const where = `${r.method} ${r.path.replace(/\?.*$/, '')}`
    challengedOn.set(where, (challengedOn.get(where) ?? 0) + 1)
  }

  const sequentialS = a.students * a.devices * (CALLS_PER_PERSON * SEQUENTIAL_PAUSE_S + (a.latencyUser + a.latencyFace) / 1000)
  const ratio = makespanS / a.floorS
  const rows: Array<[string, string]> = [
    ['date', new Date().toISOString()],
    ['machine', `${os.cpus().length} cpu(s), ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`],
    ['students', int(a.students)],
    ['devices', `${a.devices} (in ${a.simProcesses} simulator processes; SetUp used on ${setUp.filter(Boolean).length})`],
    ['latency', `user ${a.latencyUser} ms, face ${a.latencyFace} ms${a.nonceDiesOnUse ? `; Digest nonces die on use ${a.nonceDiesOnUse}` : ''}`],
    ['server', `${a.server === 'dist' ? 'node dist/server.js' : 'node --import tsx src/server.ts'}, SYNC_CONCURRENCY=${a.concurrency}${a.asyncCommit ? ', synchronous_commit=off' : ''}`],
    ['job', `${job.status}: success ${int(job.counts.success)}, failed ${int(job.counts.failed)}, skipped ${int(job.counts.skipped)} of ${int(job.progress.total)}${job.lastError ? ` (last error: ${job.lastError})` : ''}`],
    ['on the terminals', `${complete}/${a.devices} hold all ${int(a.students)} users and faces; max requests in flight on one terminal ${Math.max(...states.map((s) => s.maxConcurrentRequests))}`],
    ['makespan', `${fmt(makespanS, 2)} s (job created → finished; the client saw ${fmt(observedS, 2)} s)`],
    ['floor', `${fmt(a.floorS, 2)} s = ${int(a.students)} × (${a.latencyUser} + ${a.latencyFace}) ms`],
    ['ratio', fmt(ratio, 3)],
    ['device calls', `${int(totalCalls)} → ${fmt(totalCalls / makespanS)} calls/s (${calls.map(([op, n]) => `${op} ${int(n)}`).join(', ')})`],
    ['digest challenges', `${fmt(100 * challenged.length / Math.max(1, logged.length))} % of the last ${int(logged.length)} terminal requests were 401 round trips (${[...challengedOn].map(([k, n]) => `${k} ${int(n)}`).join(', ')})`],
    ['shares', `started ${timeline.startLagMs.min}–${timeline.startLagMs.max} ms after the job; ran ${fmt(timeline.shareSeconds.min, 2)}–${fmt(timeline.shareSeconds.max, 2)} s`],
    ['time per item', `p50 ${fmt(timeline.itemGapMs.p50)} ms, p90 ${fmt(timeline.itemGapMs.p90)} ms, p99 ${fmt(timeline.itemGapMs.p99)} ms, max ${fmt(timeline.itemGapMs.max)} ms (floor ${a.latencyUser + a.latencyFace} ms)`],
    ['stalls', `${timeline.stalls.count} gaps > floor + 250 ms, ${fmt(timeline.stalls.seconds, 2)} s per device on average`],
    ['server CPU', `${fmt(cpuS)} s during the sync (${fmt(100 * cpuS / makespanS, 0)} % of one core)`],
    ['other CPU', `simulators ${fmt(simCpuS)} s; Postgres ${fmt(pgCpu.seconds)} s (${pgCpu.backends} backends of this database, whole run); machine load ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`],
    ['DB sessions', `active on average during the sync: ${waits.summary()}`],
    ['server RSS', `idle ${fmt(rssIdleMb, 0)} MB before the sync; peak sampled ${fmt(rssPeakKb / 1024, 0)} MB; VmHWM ${fmt(rssHwmMb, 0)} MB`],
    ['server heap', `before: used ${fmt(heapIdle.used, 0)} of ${fmt(heapIdle.total, 0)} MB, external ${fmt(heapIdle.external, 0)} MB; after: used ${fmt(heapEnd.used, 0)} of ${fmt(heapEnd.total, 0)} MB, external ${fmt(heapEnd.external, 0)} MB`],
    ...(heapAfterGc ? [['live heap', `after a full GC (heap snapshot ${heapAfterGc.file}): used ${fmt(heapAfterGc.used, 0)} MB, RSS then ${fmt(heapAfterGc.rssMb, 0)} MB`] as [string, string]] : []),
    ['sequential design', `${duration(sequentialS)} = ${int(a.students)} × ${a.devices} × (${CALLS_PER_PERSON} × ${SEQUENTIAL_PAUSE_S} s + ${a.latencyUser + a.latencyFace} ms)`],
    ['speed-up', `${fmt(sequentialS / makespanS, 0)}×`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log(`\nfacegate sync benchmark\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}`)
  console.log('\n| students × devices | latency user/face | makespan | floor | ratio | calls/s | peak RSS | sequential 1 s design | speed-up |')
  console.log(`| ${int(a.students)} × ${a.devices} | ${a.latencyUser}/${a.latencyFace} ms | ${fmt(makespanS)} s | ${fmt(a.floorS)} s | ${fmt(ratio, 2)} | ${fmt(totalCalls / makespanS, 0)} | ${fmt(rssHwmMb, 0)} MB | ${duration(sequentialS)} | ${fmt(sequentialS / makespanS, 0)}× |`)
  return job.status === 'succeeded' && complete === a.devices
}

/** The simulator child: like `npm run simulator`, with terminal numbers starting at --first-index. */
async function simulatorChild (argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'first-index': { type: 'string' }, devices: { type: 'string' }, 'latency-user': { type: 'string' }, 'latency-face': { type: 'string' }, 'nonce-dies-on-use': { type: 'string' },
    },
  })
  const terminals = await startSimulatedTerminals(Number(values.devices), {
    index: Number(values['first-index']),
    nonceDiesOnUse: values['nonce-dies-on-use'] === undefined ? undefined : Number(values['nonce-dies-on-use']),
    faults: { latencyUserMs: Number(values['latency-user']), latencyFaceMs: Number(values['latency-face']) },
  })
  terminals.forEach((t, i) => console.log(`#${i + 1} ${t.url}`))
  const stop = () => { Promise.all(terminals.map((t) => t.close())).then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

async function main () {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up`)
      cleanUp().finally(() => process.exit(130)).catch(() => {})
    })
  }
  let ok = false
  try {
    ok = await run(readArgs())
  } catch (err) {
    console.error(`bench:sync failed: ${(err as Error).message}`)
  } finally {
    await cleanUp()
  }
  process.exit(ok ? 0 : 1)
}

if (process.argv[2] === SIMULATOR_CHILD) await simulatorChild(process.argv.slice(3))
else await main()
