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
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import type pg from 'pg'
import sharp from 'sharp'
import { normaliseFacePhoto } from '../src/lib/face-photo.js'
import {
  apiClient, buildIfStale, connectDatabase, cpuSeconds, createScratchDatabase, exitedEarly, fmt, insertStudents, int, onCleanUp, postgresCpuSeconds,
  printRows, procStatusKb, quantile, runBench, sampleRss, sampleWaits, serverOption, SERVER_USAGE, startChild, startServer, timeout, type ApiClient,
} from './bench-support.js'

const SIM_USER = 'admin'
const SIM_PASSWORD = 'Sim12345'
const FINISHED = new Set(['succeeded', 'partial', 'failed', 'cancelled'])
const POLL_MS = 500
// The design in ../shared/seeds/003_791ff7c16f7b103f.txt: one call at a time, 1 s pause after each.
const SEQUENTIAL_PAUSE_S = 1
const CALLS_PER_PERSON = 2
// Each real terminal has its own CPU; one event loop serving many simulated ones adds queueing no fleet has.
const TERMINALS_PER_SIMULATOR = 5

const USAGE = `Usage: npm run bench:sync -- [options]

  --students N            students, each with a face photo (default 500)
  --devices N             simulated terminals (default 10)
  --latency-user MS       terminal work per UserInfo call (default 10)
  --latency-face MS       terminal work per FDLib call (default 30)
  --concurrency N         SYNC_CONCURRENCY of the server (default = devices)
  --sim-processes N       child processes the terminals are spread over (default: one per 5 terminals)
  --timeout S             give up after S seconds (default max(300, 4 × floor))
${SERVER_USAGE}

Diagnostics:
  --async-commit          synchronous_commit=off on the scratch database (what per-item WAL flushes cost)
  --nonce-dies-on-use N   simulated firmware whose Digest nonce dies on use N (default 3, as the DS-K1T342)
  --cpu-prof DIR          the server writes a V8 CPU profile into DIR when it stops
  --sim-cpu-prof DIR      each simulator process does the same
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
      'sim-processes': { type: 'string' },
      timeout: { type: 'string' },
      server: { type: 'string', default: 'dist' },
      'async-commit': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'sim-cpu-prof': { type: 'string' },
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
  return {
    server: serverOption(values.server),
    asyncCommit: values['async-commit'] === true,
    cpuProfDir: values['cpu-prof'] && path.resolve(values['cpu-prof']),
    simCpuProfDir: values['sim-cpu-prof'] && path.resolve(values['sim-cpu-prof']),
    heapSnapshotDir: values['heap-snapshot'] && path.resolve(values['heap-snapshot']),
    nonceDiesOnUse: values['nonce-dies-on-use'] === undefined ? undefined : int('nonce-dies-on-use', values['nonce-dies-on-use'], 2),
    students, devices, latencyUser, latencyFace, floorS,
    concurrency: values.concurrency === undefined ? devices : int('concurrency', values.concurrency, 1),
    simProcesses: values['sim-processes'] === undefined ? Math.ceil(devices / TERMINALS_PER_SIMULATOR) : Math.min(devices, int('sim-processes', values['sim-processes'], 1)),
    timeoutS: values.timeout === undefined ? Math.max(300, Math.ceil(floorS * 4)) : int('timeout', values.timeout, 1),
  }
}
type Args = ReturnType<typeof readArgs>

// ---------- child processes ----------

/** Starts `count` terminals in one simulator process (the CLI, from dist/ like the server); resolves with their URLs. */
async function startSimulators (index: number, firstIndex: number, count: number, a: Args) {
  const child = startChild(`simulator ${index + 1}`, a.server === 'dist' ? 'dist/simulator/cli.js' : 'src/simulator/cli.ts', [
    '--first-index', String(firstIndex), '--devices', String(count),
    '--latency-user', String(a.latencyUser), '--latency-face', String(a.latencyFace),
    ...(a.nonceDiesOnUse ? ['--nonce-dies-on-use', String(a.nonceDiesOnUse)] : []),
  ], { PATH: process.env.PATH, HOME: process.env.HOME }, a.simCpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', a.simCpuProfDir] : [])
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

function startBenchServer (a: Args, databaseUrl: string, dataDir: string, adminPassword: string) {
  return startServer({
    server: a.server, databaseUrl, dataDir, adminPassword, cpuProfDir: a.cpuProfDir, heapSnapshotDir: a.heapSnapshotDir,
    env: { SYNC_CONCURRENCY: String(a.concurrency) },
  })
}

// ---------- /proc ----------

/**
 * Writing a heap snapshot collects garbage first, so the heap used right after it is what is really
 * retained. SIGWINCH: close-with-grace shuts the server down on SIGUSR2.
 */
async function snapshotHeap (proc: ChildProcess, dir: string, api: ApiClient) {
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

/** Students straight into the table (the API would make seeding the slow part), each with a JPEG on disk. */
async function seedStudents (db: pg.Client, schoolId: string, count: number, uploadsDir: string) {
  const rows = await insertStudents(db, schoolId, count, true)
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

function duration (seconds: number) {
  if (seconds < 120) return `${fmt(seconds)} s`
  if (seconds < 7200) return `${fmt(seconds / 60)} min`
  return `${fmt(seconds / 3600)} h`
}

// ---------- the run ----------

async function run (a: Args) {
  const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'facegate-bench-'))
  onCleanUp(`remove ${tmp}`, () => rm(tmp, { recursive: true, force: true }))
  const dataDir = path.join(tmp, 'data')

  const databaseUrl = await createScratchDatabase(a.asyncCommit)
  log(`database ${new URL(databaseUrl).pathname.slice(1)}; data in ${dataDir}`)

  if (a.server === 'dist') await buildIfStale()
  const perProcess = Array.from({ length: a.simProcesses }, (_, i) => Math.floor(a.devices / a.simProcesses) + (i < a.devices % a.simProcesses ? 1 : 0))
  const sims = await Promise.all(perProcess.map((count, i) => startSimulators(i, perProcess.slice(0, i).reduce((n, c) => n + c, 0), count, a)))
  const terminalUrls = sims.flatMap((s) => s.urls)
  log(`${terminalUrls.length} terminals in ${sims.length} simulator process(es)`)

  const adminPassword = randomBytes(12).toString('base64url')
  const server = await startBenchServer(a, databaseUrl, dataDir, adminPassword)
  const pid = server.child.proc.pid!
  log(`server pid ${pid} at ${server.base}`)

  const api = apiClient(server.base)
  await api.login('admin@facegate.local', adminPassword)
  const school = await api.call<{ id: string }>('POST', '/api/v1/schools', { name: 'Bench School', code: 'bench', timezone: 'Asia/Tashkent' })

  const db = await connectDatabase(databaseUrl)
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
  await api.eventLoopDelay() // starts a fresh measurement
  const cpuBefore = await cpuSeconds(pid)
  const rss = sampleRss(pid)

  const simCpuBefore = await Promise.all(sims.map((s) => cpuSeconds(s.child.proc.pid!)))
  const waits = sampleWaits(db)
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
  const loopDelay = await api.eventLoopDelay()
  rss.stop()
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
  const callStats = [...callsAfter].map(([op, after]) => {
    const before = callsBefore.get(op) ?? { count: 0, seconds: 0 }
    return { op, count: after.count - before.count, seconds: after.seconds - before.seconds }
  }).filter((c) => c.count > 0)
  const calls = callStats.map((c) => [c.op, c.count] as const)
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
    ['time per call', `${callStats.map((c) => `${c.op} ${fmt(1000 * c.seconds / c.count, 1)} ms`).join(', ')} on average, as the server saw them (auth round trips included)`],
    ['digest challenges', `${fmt(100 * challenged.length / Math.max(1, logged.length))} % of the last ${int(logged.length)} terminal requests were 401 round trips (${[...challengedOn].map(([k, n]) => `${k} ${int(n)}`).join(', ')})`],
    ['shares', `started ${timeline.startLagMs.min}–${timeline.startLagMs.max} ms after the job; ran ${fmt(timeline.shareSeconds.min, 2)}–${fmt(timeline.shareSeconds.max, 2)} s`],
    ['time per item', `p50 ${fmt(timeline.itemGapMs.p50)} ms, p90 ${fmt(timeline.itemGapMs.p90)} ms, p99 ${fmt(timeline.itemGapMs.p99)} ms, max ${fmt(timeline.itemGapMs.max)} ms (floor ${a.latencyUser + a.latencyFace} ms)`],
    ['stalls', `${timeline.stalls.count} gaps > floor + 250 ms, ${fmt(timeline.stalls.seconds, 2)} s per device on average`],
    ['event loop delay', `p50 ${fmt(loopDelay.p50, 1)} ms, p99 ${fmt(loopDelay.p99, 1)} ms, max ${fmt(loopDelay.max, 1)} ms in the server during the sync (prom-client's 10 ms sampling interval included)`],
    ['server CPU', `${fmt(cpuS)} s during the sync (${fmt(100 * cpuS / makespanS, 0)} % of one core)`],
    ['other CPU', `simulators ${fmt(simCpuS)} s; Postgres ${fmt(pgCpu.seconds)} s (${pgCpu.backends} backends of this database, whole run); machine load ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`],
    ['DB sessions', `active on average during the sync: ${waits.summary()}`],
    ['server RSS', `idle ${fmt(rssIdleMb, 0)} MB before the sync; peak sampled ${fmt(rss.peakKb() / 1024, 0)} MB; VmHWM ${fmt(rssHwmMb, 0)} MB`],
    ['server heap', `before: used ${fmt(heapIdle.used, 0)} of ${fmt(heapIdle.total, 0)} MB, external ${fmt(heapIdle.external, 0)} MB; after: used ${fmt(heapEnd.used, 0)} of ${fmt(heapEnd.total, 0)} MB, external ${fmt(heapEnd.external, 0)} MB`],
    ...(heapAfterGc ? [['live heap', `after a full GC (heap snapshot ${heapAfterGc.file}): used ${fmt(heapAfterGc.used, 0)} MB, RSS then ${fmt(heapAfterGc.rssMb, 0)} MB`] as [string, string]] : []),
    ['sequential design', `${duration(sequentialS)} = ${int(a.students)} × ${a.devices} × (${CALLS_PER_PERSON} × ${SEQUENTIAL_PAUSE_S} s + ${a.latencyUser + a.latencyFace} ms)`],
    ['speed-up', `${fmt(sequentialS / makespanS, 0)}×`],
  ]
  printRows('facegate sync benchmark', rows)
  console.log('\n| students × devices | latency user/face | makespan | floor | ratio | calls/s | peak RSS | sequential 1 s design | speed-up |')
  console.log(`| ${int(a.students)} × ${a.devices} | ${a.latencyUser}/${a.latencyFace} ms | ${fmt(makespanS)} s | ${fmt(a.floorS)} s | ${fmt(ratio, 2)} | ${fmt(totalCalls / makespanS, 0)} | ${fmt(rssHwmMb, 0)} MB | ${duration(sequentialS)} | ${fmt(sequentialS / makespanS, 0)}× |`)
  return job.status === 'succeeded' && complete === a.devices
}

await runBench('bench:sync', () => run(readArgs()))
