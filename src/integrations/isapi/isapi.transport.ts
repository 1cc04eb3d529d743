import { performance } from 'node:perf_hooks'
import { request, type Dispatcher } from 'undici'
import { challengeLasts, renewChallenge, sendWithAuth, type AuthSettings, type IsapiHttpRequest, type IsapiHttpResponse } from './isapi.auth.js'
import { IsapiError, transportError } from './isapi.errors.js'
import type { IsapiMetrics } from './isapi.metrics.js'
import type { IsapiDeviceRegistry } from './isapi.registry.js'

/** The subset of pino the client uses; a Fastify/pino logger satisfies it. */
export interface IsapiLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface IsapiTransportOptions extends Omit<AuthSettings, 'state'> {
  origin: string
  dispatcher: Dispatcher
  registry: IsapiDeviceRegistry
  log: IsapiLogger
  metrics?: IsapiMetrics
  maxResponseBytes: number
  onOutcome?: IsapiOutcomeListener
}

/** What one call ended with: `ok`, or the error (device answers like USER_NOT_FOUND included). */
export interface IsapiOutcome {
  deviceKey: string
  operation: string
  error?: IsapiError
}
export type IsapiOutcomeListener = (outcome: IsapiOutcome) => void | Promise<void>

export interface IsapiTransport {
  readonly deviceKey: string
  /** One logical request: queued per device, authenticated, then `interpret`ed; logged and counted. */
  call<T>(req: IsapiHttpRequest, interpret: (res: IsapiHttpResponse) => T): Promise<T>
  /**
   * Fetches a fresh Digest challenge in the device's queue unless the cached one will serve the next
   * `calls` calls (then it returns undefined: nothing is sent); never fails.
   */
  renewAuth(calls?: number): Promise<void> | undefined
}

async function readCapped (body: Dispatcher.ResponseData['body'], max: number, ctx: { deviceKey: string, operation: string }) {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > max) {
      body.destroy()
      throw new IsapiError('DEVICE_BAD_RESPONSE', `${ctx.operation}: response larger than ${max} bytes`, ctx)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function createSender (o: IsapiTransportOptions) {
  return async (req: IsapiHttpRequest, authorization?: string): Promise<IsapiHttpResponse> => {
    const ctx = { deviceKey: o.deviceKey, operation: req.operation }
    const body = req.body?.()
    const headers: Record<string, string> = { accept: '*/*' }
    if (body) {
      headers['content-type'] = body.contentType
      headers['content-length'] = String(body.bytes.length)
    }
    if (authorization) headers.authorization = authorization
    const signal = AbortSignal.timeout(req.timeoutMs)
    try {
      const res = await request(o.origin + req.path, {
        dispatcher: o.dispatcher,
        method: req.method,
        headers,
        body: body?.bytes,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal,
      })
      return { status: res.statusCode, headers: res.headers, body: await readCapped(res.body, o.maxResponseBytes, ctx) }
    } catch (err) {
      if (err instanceof IsapiError) throw err
      throw transportError(ctx, err, signal.aborted)
    }
  }
}

export function createIsapiTransport (o: IsapiTransportOptions): IsapiTransport {
  const send = createSender(o)
  const auth: AuthSettings = { ...o, state: o.registry.state(o.deviceKey) }

  async function exchange<T> (req: IsapiHttpRequest, interpret: (res: IsapiHttpResponse) => T) {
    const started = performance.now()
    let httpStatus: number | undefined
    try {
      const res = await sendWithAuth(auth, req, send)
      httpStatus = res.status
      const result = interpretSafely(req, res, interpret)
      record(req, started, 'ok', httpStatus)
      await notify({ deviceKey: o.deviceKey, operation: req.operation })
      return result
    } catch (err) {
      const code = err instanceof IsapiError ? err.code : 'DEVICE_BAD_RESPONSE'
      record(req, started, code, httpStatus, err)
      if (err instanceof IsapiError) await notify({ deviceKey: o.deviceKey, operation: req.operation, error: err })
      throw err
    }
  }

  // Runs inside the device's queue slot, so listeners see outcomes in call order.
  async function notify (outcome: IsapiOutcome) {
    if (!o.onOutcome) return
    try {
      await o.onOutcome(outcome)
    } catch (err) {
      o.log.warn({ device: o.deviceKey, operation: outcome.operation, error: (err as Error).message }, 'isapi outcome listener failed')
    }
  }

  function interpretSafely<T> (req: IsapiHttpRequest, res: IsapiHttpResponse, interpret: (res: IsapiHttpResponse) => T) {
    try {
      return interpret(res)
    } catch (err) {
      if (err instanceof IsapiError) throw err
      throw new IsapiError('DEVICE_BAD_RESPONSE', `${req.operation}: unexpected response (${(err as Error).message})`,
        { deviceKey: o.deviceKey, operation: req.operation, httpStatus: res.status, cause: err })
    }
  }

  function record (req: IsapiHttpRequest, started: number, outcome: string, httpStatus?: number, err?: unknown) {
    const seconds = (performance.now() - started) / 1000
    o.metrics?.observe(req.operation, outcome, seconds)
    const path = req.path.split('?')[0]
    const entry = { device: o.deviceKey, operation: req.operation, method: req.method, path, durationMs: Math.round(seconds * 1000), outcome, httpStatus }
    if (outcome === 'ok') {
      o.log.info(entry, 'isapi call')
    } else {
      const e = err as Partial<IsapiError>
      o.log.warn({ ...entry, subStatusCode: e.subStatusCode, errorMsg: e.errorMsg, local: e.local, error: (err as Error).message }, 'isapi call failed')
    }
  }

  return {
    deviceKey: o.deviceKey,
    call: (req, interpret) => o.registry.limiter.run(o.deviceKey, () => exchange(req, interpret)),
    renewAuth: (calls) => (challengeLasts(auth, calls) ? undefined : o.registry.limiter.run(o.deviceKey, () => renewChallenge(auth, send, calls))),
  }
}
