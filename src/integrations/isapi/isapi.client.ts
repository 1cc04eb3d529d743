import { Agent, type Dispatcher } from 'undici'
import { createCapabilityOps } from './isapi.capabilities.js'
import { IsapiError } from './isapi.errors.js'
import { createEventOps } from './isapi.events.js'
import { createFaceOps } from './isapi.faces.js'
import { createHttpHostOps } from './isapi.httphosts.js'
import type { IsapiMetrics } from './isapi.metrics.js'
import { sharedIsapiRegistry, type IsapiDeviceRegistry } from './isapi.registry.js'
import { DEFAULT_ISAPI_TIMEOUTS, createRequester, type IsapiTimeouts } from './isapi.request.js'
import { createSystemOps } from './isapi.system.js'
import { createIsapiTransport, type IsapiLogger, type IsapiOutcomeListener } from './isapi.transport.js'
import { createUserOps } from './isapi.users.js'

export interface IsapiClientOptions {
  /** `http://host[:port]` or `https://host[:port]`, nothing after the origin. */
  baseUrl: string
  username: string
  password: string
  dispatcher: Dispatcher
  /** Used instead of `dispatcher` when `acceptSelfSignedCert` is set (an Agent with rejectUnauthorized:false). */
  insecureDispatcher?: Dispatcher
  acceptSelfSignedCert?: boolean
  /** Digest unless the device is explicitly configured for Basic. */
  authMode?: 'digest' | 'basic'
  timeouts?: Partial<IsapiTimeouts>
  log: IsapiLogger
  metrics?: IsapiMetrics
  /** Told the outcome of every call that reached (or was refused for) the device, e.g. to record device health. */
  onOutcome?: IsapiOutcomeListener
  /** Per-device queue and auth state; defaults to the process-wide registry. */
  registry?: IsapiDeviceRegistry
  maxFaceBytes?: number
  maxResponseBytes?: number
  /** Re-challenge before a cached nonce gets this old or this used (devices expire them at ~30 s / 3–8 uses). */
  nonceTtlMs?: number
  nonceMaxUses?: number
  /** After the device rejects these credentials, refuse locally for this long (0 = off). */
  authFailureCooldownMs?: number
  now?: () => number
}

export const ISAPI_CLIENT_DEFAULTS = {
  maxFaceBytes: 200 * 1024,
  maxResponseBytes: 8 * 1024 * 1024,
  nonceTtlMs: 20_000,
  nonceMaxUses: 8,
  authFailureCooldownMs: 5 * 60_000,
  connectTimeoutMs: 5_000,
} as const

/** `host:port`, the key of the per-device queue. */
export function deviceKeyOf (baseUrl: string) {
  const u = new URL(baseUrl)
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
}

function parseBaseUrl (baseUrl: string) {
  let u: URL
  try {
    u = new URL(baseUrl)
  } catch {
    u = new URL('invalid://')
  }
  const ok = (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && (u.pathname === '/' || u.pathname === '') && !u.search
  if (!ok) {
    throw new IsapiError('INVALID_ARGUMENT', 'baseUrl must be http(s)://host[:port] without path or credentials', { deviceKey: baseUrl, operation: 'createClient', local: true })
  }
  return u
}

export function createIsapiClient (opts: IsapiClientOptions) {
  const url = parseBaseUrl(opts.baseUrl)
  const deviceKey = deviceKeyOf(opts.baseUrl)
  const insecure = url.protocol === 'https:' && opts.acceptSelfSignedCert === true
  const dispatcher = insecure ? opts.insecureDispatcher : opts.dispatcher
  if (!dispatcher) {
    throw new IsapiError('INVALID_ARGUMENT', 'acceptSelfSignedCert needs an insecureDispatcher', { deviceKey, operation: 'createClient', local: true })
  }
  const timeouts: IsapiTimeouts = { ...DEFAULT_ISAPI_TIMEOUTS, ...opts.timeouts }
  const now = opts.now ?? Date.now
  const transport = createIsapiTransport({
    origin: url.origin,
    deviceKey,
    username: opts.username,
    password: opts.password,
    authMode: opts.authMode ?? 'digest',
    dispatcher,
    registry: opts.registry ?? sharedIsapiRegistry,
    log: opts.log,
    metrics: opts.metrics,
    onOutcome: opts.onOutcome,
    maxResponseBytes: opts.maxResponseBytes ?? ISAPI_CLIENT_DEFAULTS.maxResponseBytes,
    now,
    nonceTtlMs: opts.nonceTtlMs ?? ISAPI_CLIENT_DEFAULTS.nonceTtlMs,
    nonceMaxUses: opts.nonceMaxUses ?? ISAPI_CLIENT_DEFAULTS.nonceMaxUses,
    authFailureCooldownMs: opts.authFailureCooldownMs ?? ISAPI_CLIENT_DEFAULTS.authFailureCooldownMs,
    probeTimeoutMs: timeouts.defaultMs,
  })
  const r = createRequester(transport)
  return {
    deviceKey,
    /** Call between two writes while doing other work: takes the Digest challenge round trip off the next call. */
    renewAuth: transport.renewAuth,
    ...createSystemOps(r, timeouts, () => new Date(now())),
    ...createHttpHostOps(r, timeouts),
    ...createCapabilityOps(r, timeouts),
    ...createUserOps(r, timeouts),
    ...createFaceOps(r, timeouts, opts.maxFaceBytes ?? ISAPI_CLIENT_DEFAULTS.maxFaceBytes),
    ...createEventOps(r, timeouts),
  }
}
export type IsapiClient = ReturnType<typeof createIsapiClient>

/**
 * The two undici Agents a process needs: strict TLS, and one that accepts a terminal's self-signed
 * certificate (only for devices configured so). Create once (a plugin), close on shutdown.
 */
export function createIsapiDispatchers (o: { connectTimeoutMs?: number } = {}) {
  const common = {
    connect: { timeout: o.connectTimeoutMs ?? ISAPI_CLIENT_DEFAULTS.connectTimeoutMs },
    // Terminals announce Keep-Alive: timeout=5; reuse sockets only well inside that.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
    pipelining: 1,
  }
  const dispatcher = new Agent(common)
  const insecureDispatcher = new Agent({ ...common, connect: { ...common.connect, rejectUnauthorized: false } })
  return {
    dispatcher,
    insecureDispatcher,
    close: async () => { await Promise.all([dispatcher.close(), insecureDispatcher.close()]) },
  }
}
