import { spawn } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, until } from '../helpers/until.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const dirs: string[] = []
afterAll(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

describe('the server without DATABASE_URL (embedded Postgres, as npm start runs it)', () => {
  it('on SIGTERM closes the app while its database is still up, then stops the database, and exits 0', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'facegate-shutdown-'))
    dirs.push(parent)
    await chmod(parent, 0o755) // the embedded server runs as the postgres user when we are root
    const [port, pgPort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: path.join(parent, 'data'),
        HOST: '127.0.0.1', PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info',
        ADMIN_EMAIL: 'admin@facegate.test', ADMIN_PASSWORD: 'admin-password-for-tests',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const ready = await until(() => fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false), Boolean, 90_000)
      expect(ready, output.slice(-4000)).toBe(true)
      // The sync workers and the event processor hold connections and poll while the app runs.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      child.kill('SIGTERM')
      expect(await exited, output.slice(-4000)).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    const logged = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number, msg: string })
    expect(logged.filter((l) => l.level >= 50), 'errors while shutting down').toEqual([])
    expect(logged.some((l) => l.msg === 'shutting down')).toBe(true)
    expect(await accepts(pgPort)).toBe(false)
  }, 120_000)
})
