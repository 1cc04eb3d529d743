import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, onTestFailed } from 'vitest'
import type { SimulatedTerminal } from '../../src/simulator/index.js'
import { createTestDatabase } from './db.js'
import { faceJpeg } from './terminals.js'
import { freePort } from './until.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUTPUT_TAIL_CHARS = 20_000
const FINISHED = ['succeeded', 'partial', 'failed', 'cancelled']

export const ADMIN = { email: 'admin@facegate.test', password: 'admin-password-for-tests' }

/** Processes on one database must share these, or one cannot read what the other wrote (tokens, device passwords). */
const SHARED_SECRETS = {
  JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
  MEDIA_SIGNING_SECRET: 'test-media-secret-that-is-long-enough-0123456789',
  CREDENTIALS_KEY: Buffer.alloc(32, 7).toString('base64'),
}

const running = new Set<ServerProcess>()
const startedInFile: ServerProcess[] = []
const cleanups: Array<() => Promise<unknown>> = []
process.once('exit', () => { for (const s of running) s.child.kill('SIGKILL') })
afterAll(async () => {
  await Promise.all([...running].map((s) => s.kill('SIGKILL')))
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/**
 * A fresh migrated database and data folder for server processes to share (uploads live in DATA_DIR);
 * both are removed after the file's tests, once its servers are killed.
 */
export async function createSharedEnvironment () {
  const database = await createTestDatabase()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'facegate-proc-data-'))
  cleanups.push(database.drop, () => rm(dataDir, { recursive: true, force: true }))
  return { databaseUrl: database.url, dataDir }
}

export interface ServerProcess {
  name: string
  url: string
  child: ChildProcess
  /** The last ~20 kB of the process's stdout and stderr. */
  output: () => string
  exited: boolean
  /** Sends `signal` and resolves once the process has exited. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/**
 * The real server (`node --import tsx src/server.ts`) as a child process on a free port, ready
 * (GET /health/ready is 200) when this resolves. It applies migrations and creates the initial super
 * admin (ADMIN) itself. Killed after the file's tests at the latest.
 */
export async function startServerProcess (name: string, shared: { databaseUrl: string, dataDir: string }, env: Record<string, string> = {}) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      ...SHARED_SECRETS,
      DATABASE_URL: shared.databaseUrl, DATA_DIR: shared.dataDir,
      HOST: '127.0.0.1', PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: process.env.TEST_SERVER_LOG_LEVEL ?? 'warn',
      LOGIN_MAX_PER_IP_PER_MINUTE: '10000', LOGIN_MAX_PER_EMAIL_PER_15_MINUTES: '10000',
      DOCS_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let tail = ''
  const keep = (stream: string) => (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8').replace(/^(?=.)/gm, `[${name} ${stream}] `)).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout?.on('data', keep('out'))
  child.stderr?.on('data', keep('err'))
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    proc.exited = true
    running.delete(proc)
    tail += `\n[${name}] exited (code ${code}, signal ${signal})\n`
    resolve()
  }))
  const proc: ServerProcess = {
    name, url: `http://127.0.0.1:${port}`, child, exited: false,
    output: () => tail,
    async kill (signal = 'SIGTERM') {
      if (!proc.exited) child.kill(signal)
      await exit
    },
  }
  running.add(proc)
  startedInFile.push(proc)

  const deadline = Date.now() + 45_000
  for (;;) {
    if (proc.exited) throw new Error(`server ${name} exited while starting:\n${tail}`)
    const ok = await fetch(`${proc.url}/health/ready`).then((r) => r.ok, () => false)
    if (ok) return proc
    if (Date.now() > deadline) {
      await proc.kill('SIGKILL')
      throw new Error(`server ${name} not ready after 45 s:\n${tail}`)
    }
    await sleep(100)
  }
}

/** Call inside a test: when it fails, the output of every server process this file started is printed. */
export function printServerOutputOnFailure () {
  onTestFailed(() => {
    for (const s of startedInFile) process.stderr.write(`\n----- output of server ${s.name} -----\n${s.output()}\n`)
  })
}

export interface ApiClient {
  call: <T = any>(method: string, url: string, body?: unknown, expected?: number) => Promise<T>
  /** The same credentials against another server process. */
  on: (server: ServerProcess) => ApiClient
}

/** Signs in as the initial super admin and calls /api/v1 on `server`; an unexpected status throws with the body. */
export async function apiClient (server: ServerProcess): Promise<ApiClient> {
  const bound = (base: string, headers: Record<string, string>): ApiClient => ({
    async call (method, url, body, expected) {
      const res = await fetch(`${base}/api/v1${url}`, {
        method,
        headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      if (expected !== undefined ? res.status !== expected : !res.ok) throw new Error(`${method} ${url} on ${base}: ${res.status} ${text}`)
      return (text ? JSON.parse(text) : null)
    },
    on: (other) => bound(other.url, headers),
  })
  const { accessToken } = await bound(server.url, {}).call<{ accessToken: string }>('POST', '/auth/login', ADMIN, 200)
  return bound(server.url, { authorization: `Bearer ${accessToken}` })
}

/** Polls GET /jobs/:id until the job has ended and returns it. */
export async function waitForJobOver (api: ApiClient, jobId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await api.call('GET', `/jobs/${jobId}`)
    if (FINISHED.includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms: ${JSON.stringify(job)}`)
    await sleep(100)
  }
}

/** A school with `count` students, each with a face photo, created through the API (sending nothing to devices). */
export async function seedSchool (api: ApiClient, count: number) {
  const suffix = Math.random().toString(36).slice(2, 8)
  const school = await api.call<{ id: string }>('POST', '/schools', { name: `Process school ${suffix}`, code: `P-${suffix}`, timezone: 'Asia/Tashkent' }, 201)
  const seedOne = async (i: number) => {
    const s = await api.call('POST', `/schools/${school.id}/students`, { firstName: 'Pupil', lastName: `Number${i}`, gender: i % 2 ? 'male' : 'female', syncMode: 'none' }, 201)
    const image = await faceJpeg(160, i + 1)
    await api.call('PUT', `/schools/${school.id}/students/${s.id}/photo?syncMode=none`, { imageBase64: image.toString('base64') }, 200)
    return { id: s.id as string, employeeNo: s.employeeNo as string }
  }
  const students: Array<{ id: string, employeeNo: string }> = []
  for (let i = 0; i < count; i += 4) {
    students.push(...await Promise.all(Array.from({ length: Math.min(4, count - i) }, (_, k) => seedOne(i + k))))
  }
  return { school, students }
}

export async function addTerminal (api: ApiClient, schoolId: string, terminal: SimulatedTerminal) {
  return api.call<{ id: string }>('POST', `/schools/${schoolId}/devices`, {
    name: `Gate ${terminal.port}`, direction: 'in', host: terminal.host, port: terminal.port, username: terminal.username, password: terminal.password,
  }, 201)
}
