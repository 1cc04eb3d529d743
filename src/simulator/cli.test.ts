import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { parseSimulatorArgs } from './cli-args.js'
import { startSimulatedTerminals } from './terminal.js'
import type { SimulatedTerminal } from './terminal.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const started: SimulatedTerminal[] = []
afterEach(async () => { await Promise.all(started.splice(0).map((t) => t.close())) })

async function bindable (port: number) {
  const server = createServer()
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (ok) await new Promise((resolve) => server.close(resolve))
  return ok
}

/** Two consecutive free ports, probed by binding them. */
async function freePortPair () {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    await new Promise((resolve) => server.close(resolve))
    if (port < 65535 && await bindable(port) && await bindable(port + 1)) return port
  }
  throw new Error('no free port pair')
}

describe('simulator CLI arguments', () => {
  it('has usable defaults', () => {
    expect(parseSimulatorArgs([])).toMatchObject({ devices: 1, basePort: 0, host: '127.0.0.1', supportsSetUp: true, help: false })
  })

  it('reads every flag and refuses bad numbers or unknown flags', () => {
    const args = parseSimulatorArgs(['--devices', '3', '--first-index', '20', '--base-port', '18000', '--latency-user', '40', '--latency-face', '90', '--faults', 'f.json', '--nonce-dies-on-use', '9', '--no-setup'])
    expect(args).toMatchObject({ devices: 3, firstIndex: 20, basePort: 18000, latencyUserMs: 40, latencyFaceMs: 90, faultsFile: 'f.json', nonceDiesOnUse: 9, supportsSetUp: false })
    expect(() => parseSimulatorArgs(['--nonce-dies-on-use', '1'])).toThrow(/--nonce-dies-on-use/)
    expect(() => parseSimulatorArgs(['--devices', '0'])).toThrow(/--devices/)
    expect(() => parseSimulatorArgs(['--base-port', 'x'])).toThrow(/--base-port/)
    expect(() => parseSimulatorArgs(['--devices', '2', '--base-port', '65535'])).toThrow(/65535/)
    expect(() => parseSimulatorArgs(['--bogus'])).toThrow()
  })
})

describe('simulator start-up', () => {
  it('starts n terminals on consecutive ports with distinct identities', async () => {
    const base = await freePortPair()
    const terminals = await startSimulatedTerminals(2, { basePort: base })
    started.push(...terminals)
    expect(terminals.map((t) => t.port)).toEqual([base, base + 1])
    expect(new Set(terminals.map((t) => t.identity.macAddress)).size).toBe(2)
    expect(new Set(terminals.map((t) => t.identity.shortSerial)).size).toBe(2)
  })

  it('runs from the command line, prints each terminal and applies --faults FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facegate-sim-'))
    const faults = join(dir, 'faults.json')
    writeFileSync(faults, JSON.stringify({ busy: 1 }))
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli.ts', '--devices', '2', '--first-index', '7', '--faults', faults, '--latency-user', '5'], { cwd: ROOT })
    try {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => { if (/#9 http:\/\/127\.0\.0\.1:\d+\n(.*\n){3}/.test(out)) resolve() })
        child.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${out}`)))
      })
      const urls = [...out.matchAll(/^#(\d+) (http:\/\/\S+)$/gm)].map((m) => [m[1], m[2]])
      expect(urls.map(([n]) => n)).toEqual(['8', '9']) // numbered from --first-index, as their serials are
      const [first, second] = urls.map(([, url]) => url)
      expect(out).toMatch(/user admin \/ Sim12345/)
      expect(out).toMatch(/serial DS-K1T673DX-BR20260305V031800EN\w{9} \(short \w{9}\) {2}mac ([0-9A-F]{2}:){5}[0-9A-F]{2}/)
      // Identities follow --first-index too, so simulator processes started side by side never share one.
      expect([...out.matchAll(/\(short (\w{9})\)/g)].map((m) => m[1])).toEqual(['FG0000008', 'FG0000009'])
      expect((await fetch(`${first}/ISAPI/System/deviceInfo`)).status).toBe(503)
      const state = await (await fetch(`${second}/_sim/state`)).json() as { faults: Record<string, unknown> }
      expect(state.faults).toMatchObject({ busy: 1, latencyUserMs: 5 })
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
    }
  })
})
