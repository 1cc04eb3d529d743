import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DigestAuth } from './digest-auth.js'
import { faceEventInputSchema, recordFaceEvent } from './face-events.js'
import type { FaceEventInput } from './face-events.js'
import type { Faults } from './faults.js'
import type { Notifier } from './notify.js'
import type { SimContext } from './sim-context.js'
import type { PushLogEntry, SimEvent } from './sim-state.js'
import { deviceLocalTime } from './sim-state.js'
import type { FaultSpec } from './sim.types.js'
import { userSearchEntry } from './user-search.js'

export interface ControlDeps {
  ctx: SimContext
  faults: Faults
  notifier: Notifier
  auth: DigestAuth
}

export interface FaceEventOutcome {
  event: SimEvent
  recognised: boolean
  pushes: PushLogEntry[]
}

/** Operations shared by the /_sim HTTP API and the in-process terminal handle. */
export function createControlOps ({ ctx, faults, notifier, auth }: ControlDeps) {
  function snapshot () {
    const s = ctx.state
    const origin = ctx.selfOrigin()
    return structuredClone({
      device: { url: origin, ...s.identity },
      users: [...s.users.values()].map((u) => userSearchEntry(s, u)),
      faces: [...s.faces.values()].map((f) => ({ FPID: f.fpid, size: f.bytes.length, sha256: createHash('sha256').update(f.bytes).digest('hex'), faceURL: `${origin}${f.path}` })),
      events: s.events,
      httpHosts: s.httpHosts,
      time: { timeMode: s.time.timeMode, timeZone: s.time.timeZone, localTime: deviceLocalTime(s, ctx.now), ntpServers: s.time.ntpServers },
      ...auth.snapshot(),
      maxConcurrentRequests: s.maxConcurrentRequests,
      maxProcessingRequests: s.maxProcessingRequests,
      faults: faults.snapshot(),
      requests: s.requests,
      pushes: s.pushes,
    })
  }

  async function faceEvent (input: FaceEventInput = {}): Promise<FaceEventOutcome> {
    const result = recordFaceEvent(ctx, faceEventInputSchema.parse(input))
    const pushes = await notifier.pushEvent(result.event, result.picture)
    return { event: structuredClone(result.event), recognised: result.recognised, pushes }
  }

  return {
    snapshot,
    faceEvent,
    heartbeat: () => notifier.pushHeartbeat(),
    setFaults: (spec: FaultSpec) => { faults.set(spec) },
    clearFaults: () => { faults.clear() },
  }
}

export type ControlOps = ReturnType<typeof createControlOps>

function send (res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function jsonInput (body: Buffer): unknown {
  const text = body.toString('utf8').trim()
  return text === '' ? {} : JSON.parse(text)
}

/** Simulator management API under /_sim/: no auth, not queued, not part of the device. */
export function createControlHandler (ops: ControlOps) {
  const routes: Record<string, (body: Buffer) => Promise<unknown> | unknown> = {
    'GET /_sim/state': () => ops.snapshot(),
    'POST /_sim/events/face': (body) => ops.faceEvent(jsonInput(body) as FaceEventInput),
    'POST /_sim/heartbeat': async () => ({ pushes: await ops.heartbeat() }),
    'GET /_sim/faults': () => ({ faults: ops.snapshot().faults }),
    'POST /_sim/faults': (body) => {
      ops.setFaults(jsonInput(body) as FaultSpec)
      return { faults: ops.snapshot().faults }
    },
    'DELETE /_sim/faults': () => {
      ops.clearFaults()
      return { faults: ops.snapshot().faults }
    },
  }
  return async function handle (req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const path = new URL(req.url ?? '/', 'http://sim').pathname
    const route = routes[`${req.method} ${path}`]
    if (!route) return send(res, 404, { error: `no control route ${req.method} ${path}` })
    try {
      send(res, 200, await route(body))
    } catch (err) {
      send(res, 400, { error: (err as Error).message })
    }
  }
}
