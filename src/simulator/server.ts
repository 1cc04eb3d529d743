import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { DigestAuth } from './digest-auth.js'
import type { Faults } from './faults.js'
import { busyReply, userCheckReply, xmlStatus } from './responses.js'
import type { Reply } from './responses.js'
import type { Dispatch } from './router.js'
import { createSerialQueue } from './serial-queue.js'
import type { IsapiRequest, SimContext } from './sim-context.js'
import type { RequestLogEntry } from './sim-state.js'
import { deviceNow } from './sim-state.js'

export type ControlHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>

export interface DeviceServerDeps {
  ctx: SimContext
  auth: DigestAuth
  faults: Faults
  dispatch: Dispatch
  control: ControlHandler
}

const MAX_BODY = 8 * 1024 * 1024

export function readBody (req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        req.socket.destroy()
        resolve(undefined)
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)))
    req.on('error', () => resolve(undefined))
    req.on('close', () => resolve(undefined))
  })
}

function toIsapiRequest (req: IncomingMessage, body: Buffer): IsapiRequest {
  const url = req.url ?? '/'
  const parsed = new URL(url, 'http://terminal')
  let path = parsed.pathname
  try {
    path = decodeURIComponent(path)
  } catch {}
  return {
    method: req.method ?? 'GET',
    url,
    path,
    query: parsed.searchParams,
    isJson: parsed.searchParams.get('format') === 'json',
    headers: req.headers,
    body,
    remoteAddress: req.socket.remoteAddress ?? '',
  }
}

const KEEP_ALIVE_SECONDS = 5

/**
 * `Keep-Alive: timeout=5, max=100` as the DS-K1T673 captures show it. The max is announced, not
 * enforced: Node's own maxRequestsPerSocket ends up closing every later connection after a single
 * request once the first one reached it, which no terminal was seen doing.
 */
function keepAlive (res: ServerResponse) {
  res.setHeader('Keep-Alive', `timeout=${KEEP_ALIVE_SECONDS}, max=100`)
}

/** Header order of the DS-K1T673 captures; Node appends Connection itself. */
function writeReply (res: ServerResponse, reply: Reply, isJson: boolean, dateMs: number): Promise<void> {
  if (res.destroyed) return Promise.resolve()
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body
  const contentType = reply.contentType ?? (reply.kind === 'json' || isJson ? 'application/json' : 'application/xml')
  res.sendDate = false
  res.setHeader('Date', new Date(dateMs).toUTCString())
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('X-Frame-Options', 'SAMEORIGIN')
  res.setHeader('X-XSS-Protection', '1; mode=block')
  res.setHeader('Content-Length', body.length)
  for (const [k, v] of reply.headers ?? []) res.setHeader(k, v)
  res.setHeader('Content-Type', contentType)
  keepAlive(res)
  res.writeHead(reply.status)
  return new Promise((resolve) => {
    res.once('close', resolve)
    res.end(body, () => resolve())
  })
}

/**
 * node:http (not Fastify) so the simulator controls raw bytes, resets and
 * hangs. Device requests (/ISAPI, /LOCALS, anything but /_sim) are handled
 * strictly one at a time like the single-threaded terminal.
 */
export function createDeviceServer (deps: DeviceServerDeps): Server {
  const { ctx, auth, faults, dispatch } = deps
  const queue = createSerialQueue()
  let inFlight = 0
  let processing = 0

  function log (req: IsapiRequest, status: number, outcome: RequestLogEntry['outcome']) {
    const { requests } = ctx.state
    requests.push({ at: new Date(ctx.now()).toISOString(), method: req.method, path: req.url, status, outcome })
    if (requests.length > ctx.config.requestLogLimit) requests.splice(0, requests.length - ctx.config.requestLogLimit)
  }

  async function answer (res: ServerResponse, req: IsapiRequest, reply: Reply) {
    await writeReply(res, reply, req.isJson, deviceNow(ctx.state, ctx.now))
    log(req, reply.status, 'answered')
  }

  async function handleDevice (raw: IncomingMessage, res: ServerResponse, req: IsapiRequest, signal: AbortSignal) {
    if (!(await faults.waitWhileHung(signal))) return log(req, 0, 'dropped')
    if (faults.takeReset()) {
      raw.socket.destroy()
      return log(req, 0, 'reset')
    }
    if (faults.takeBusy()) return answer(res, req, busyReply(req.path, req.isJson))
    const result = auth.check(req.method, req.url, raw.headers.authorization)
    if (result.outcome === 'challenge') return answer(res, req, userCheckReply(result.check, req.isJson, result.header))
    if (result.outcome === 'rejected') return answer(res, req, userCheckReply(result.check, req.isJson))
    // Latency models the work an operation costs the terminal, so the answer leaves that long after the
    // request was accepted, however long the simulator itself took; rejecting a login costs it next to nothing.
    const accepted = performance.now()
    let reply: Reply
    try {
      reply = await dispatch(req, ctx)
    } catch {
      reply = xmlStatus(500, req.path, 3, 'deviceError')
    }
    await faults.applyLatency(req.path, signal, performance.now() - accepted)
    // Done on the terminal, but the client is gone: the log keeps what it did.
    if (signal.aborted) return log(req, reply.status, 'dropped')
    return answer(res, req, reply)
  }

  /** Client-side concurrency: requests in flight (arrived, not yet answered or dropped) when one arrives. */
  function trackInFlight (res: ServerResponse) {
    inFlight += 1
    ctx.state.maxConcurrentRequests = Math.max(ctx.state.maxConcurrentRequests, inFlight)
    let open = true
    const done = () => {
      if (open) inFlight -= 1
      open = false
    }
    res.once('finish', done)
    res.once('close', done)
  }

  async function onDeviceRequest (raw: IncomingMessage, res: ServerResponse) {
    trackInFlight(res)
    const abort = new AbortController()
    res.on('close', () => { if (!res.writableFinished) abort.abort() })
    const body = await readBody(raw)
    await queue(async () => {
      processing += 1
      ctx.state.maxProcessingRequests = Math.max(ctx.state.maxProcessingRequests, processing)
      try {
        const req = toIsapiRequest(raw, body ?? Buffer.alloc(0))
        if (body === undefined || abort.signal.aborted) return log(req, 0, 'dropped')
        await handleDevice(raw, res, req, abort.signal)
      } finally {
        processing -= 1
      }
    })
  }

  const server = createServer((raw, res) => {
    const handle = raw.url?.startsWith('/_sim/')
      ? readBody(raw).then((body) => (body ? deps.control(raw, res, body) : undefined))
      : onDeviceRequest(raw, res)
    handle.catch(() => res.destroy())
  })
  server.keepAliveTimeout = KEEP_ALIVE_SECONDS * 1000
  return server
}
