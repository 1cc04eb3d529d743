import type { AddressInfo } from 'node:net'
import { createControlHandler, createControlOps } from './control.js'
import type { ControlOps } from './control.js'
import { createDigestAuth } from './digest-auth.js'
import { eventRoutes, recordEvent } from './events.js'
import { faceRoutes } from './faces.js'
import { createFaults } from './faults.js'
import { httpHostRoutes } from './http-hosts.js'
import { createNotifier } from './notify.js'
import { createRouter } from './router.js'
import { createDeviceServer } from './server.js'
import type { SimConfig, SimContext } from './sim-context.js'
import { buildIdentity } from './sim-identity.js'
import type { DeviceIdentity } from './sim-identity.js'
import type { SimState } from './sim-state.js'
import { createState } from './sim-state.js'
import { parsePosixTimeZone } from './sim-time.js'
import type { SimulatedTerminalOptions } from './sim.types.js'
import { systemRoutes } from './system.js'
import { timeRoutes } from './system-time.js'
import { userRoutes } from './users.js'

export const SIMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  username: 'admin',
  password: 'Sim12345',
  timeZone: 'CST-5:00:00',
  nonceDiesOnUse: 3,
  nonceMaxAgeMs: 30_000,
  lockoutThreshold: 5,
  lockoutMs: 30 * 60_000,
  supportsSetUp: true,
  supportsModify: true,
  maxFaceBytes: 200 * 1024,
  pushTimeoutMs: 5000,
  faceDownloadTimeoutMs: 5000,
  requestLogLimit: 2000,
} as const

export interface SimulatedTerminal {
  url: string
  host: string
  port: number
  username: string
  password: string
  identity: DeviceIdentity
  /** Live device state; mutate only if a test really needs to (snapshot() is the safe read). */
  state: SimState
  snapshot: ControlOps['snapshot']
  recordFaceEvent: ControlOps['faceEvent']
  pushHeartbeat: ControlOps['heartbeat']
  setFaults: ControlOps['setFaults']
  clearFaults: ControlOps['clearFaults']
  close: () => Promise<void>
}

function buildContext (options: SimulatedTerminalOptions, host: string, origin: () => string): SimContext {
  const now = options.now ?? Date.now
  const timeZone = options.timeZone ?? SIMULATOR_DEFAULTS.timeZone
  const offsetMinutes = parsePosixTimeZone(timeZone)
  if (offsetMinutes === undefined) throw new Error(`invalid timeZone "${timeZone}"`)
  const state = createState(buildIdentity(options, host), { timeZone, offsetMinutes }, now(), options.firstSerialNo ?? 1)
  const config: SimConfig = {
    supportsSetUp: options.supportsSetUp ?? SIMULATOR_DEFAULTS.supportsSetUp,
    supportsModify: options.supportsModify ?? SIMULATOR_DEFAULTS.supportsModify,
    maxFaceBytes: options.maxFaceBytes ?? SIMULATOR_DEFAULTS.maxFaceBytes,
    seed: options.seed ?? 0x5eed,
    pushTimeoutMs: options.pushTimeoutMs ?? SIMULATOR_DEFAULTS.pushTimeoutMs,
    faceDownloadTimeoutMs: options.faceDownloadTimeoutMs ?? SIMULATOR_DEFAULTS.faceDownloadTimeoutMs,
    requestLogLimit: options.requestLogLimit ?? SIMULATOR_DEFAULTS.requestLogLimit,
  }
  const ctx: SimContext = { state, config, now, selfOrigin: origin }
  if (options.bootEvent !== false) recordEvent(state, now, { major: 2, minor: 1024, currentVerifyMode: 'invalid' })
  return ctx
}

/** Starts one simulated Hikvision face terminal speaking ISAPI over HTTP. */
export async function startSimulatedTerminal (options: SimulatedTerminalOptions = {}): Promise<SimulatedTerminal> {
  const host = options.host ?? SIMULATOR_DEFAULTS.host
  const username = options.username ?? SIMULATOR_DEFAULTS.username
  const password = options.password ?? SIMULATOR_DEFAULTS.password
  let origin = ''
  const ctx = buildContext(options, host, () => origin)
  const auth = createDigestAuth({
    username,
    password,
    realm: ctx.state.identity.realm,
    now: ctx.now,
    nonceDiesOnUse: options.nonceDiesOnUse ?? SIMULATOR_DEFAULTS.nonceDiesOnUse,
    nonceMaxAgeMs: options.nonceMaxAgeMs ?? SIMULATOR_DEFAULTS.nonceMaxAgeMs,
    lockoutThreshold: options.lockoutThreshold ?? SIMULATOR_DEFAULTS.lockoutThreshold,
    lockoutMs: options.lockoutMs ?? SIMULATOR_DEFAULTS.lockoutMs,
  })
  const faults = createFaults(options.faults)
  const dispatch = createRouter([...systemRoutes, ...timeRoutes, ...httpHostRoutes, ...userRoutes, ...faceRoutes, ...eventRoutes])
  const ops = createControlOps({ ctx, faults, notifier: createNotifier(ctx), auth })
  const server = createDeviceServer({ ctx, auth, faults, dispatch, control: createControlHandler(ops) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  async function close () {
    server.closeAllConnections()
    faults.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  return {
    url: origin, host, port, username, password, identity: ctx.state.identity, state: ctx.state,
    snapshot: ops.snapshot,
    recordFaceEvent: ops.faceEvent,
    pushHeartbeat: ops.heartbeat,
    setFaults: ops.setFaults,
    clearFaults: ops.clearFaults,
    close,
  }
}

/** n terminals with distinct serials/MACs; ports basePort..basePort+n-1, or free ports when basePort is absent. */
export async function startSimulatedTerminals (n: number, options: SimulatedTerminalOptions & { basePort?: number } = {}): Promise<SimulatedTerminal[]> {
  if (!Number.isInteger(n) || n < 1) throw new Error('n must be a positive integer')
  const { basePort, ...rest } = options
  const first = basePort ?? rest.port ?? 0
  const started: SimulatedTerminal[] = []
  try {
    for (let i = 0; i < n; i++) {
      started.push(await startSimulatedTerminal({ ...rest, index: (rest.index ?? 0) + i, port: first === 0 ? 0 : first + i }))
    }
  } catch (err) {
    await Promise.all(started.map((t) => t.close()))
    throw err
  }
  return started
}
