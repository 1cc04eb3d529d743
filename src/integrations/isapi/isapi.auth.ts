import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { safeDecode, readLock, readUserCheck } from './isapi.decode.js'
import { basicAuthorization, digestAuthorization, parseDigestChallenge, type DigestChallenge } from './isapi.digest.js'
import { IsapiError, deviceAnswerError } from './isapi.errors.js'
import type { CachedChallenge, IsapiDeviceState } from './isapi.registry.js'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface IsapiHttpRequest {
  operation: string
  method: HttpMethod
  /** Path and query string, as sent on the request line (the Digest uri must match it). */
  path: string
  /** Built per attempt, so time-sensitive bodies (set time) are current when actually sent. */
  body?: () => { bytes: Buffer, contentType: string }
  timeoutMs: number
}

export interface IsapiHttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export type SendOnce = (req: IsapiHttpRequest, authorization?: string) => Promise<IsapiHttpResponse>

export interface AuthSettings {
  deviceKey: string
  username: string
  password: string
  authMode: 'digest' | 'basic'
  state: IsapiDeviceState
  now: () => number
  nonceTtlMs: number
  nonceMaxUses: number
  authFailureCooldownMs: number
  probeTimeoutMs: number
}

const DEFAULT_LOCK_SECONDS = 1800
const PROBE_PATH = '/ISAPI/System/deviceInfo'

export const credentialFingerprint = (username: string, password: string) =>
  createHash('sha256').update(`${username}\0${password}`).digest('hex').slice(0, 32)

/** Refuses locally while the device said the account is locked, or these credentials were just rejected. */
function guardLocal (s: AuthSettings, operation: string) {
  const ctx = { deviceKey: s.deviceKey, operation, local: true }
  const lockedUntil = s.state.lockedUntil.get(s.username)
  if (lockedUntil !== undefined && lockedUntil > s.now()) {
    throw new IsapiError('DEVICE_LOCKED', `${operation}: account locked on the device; not retrying before the unlock time`,
      { ...ctx, unlockAt: new Date(lockedUntil) })
  }
  const rejectedAt = s.state.rejectedAt.get(credentialFingerprint(s.username, s.password))
  if (rejectedAt !== undefined && s.now() - rejectedAt < s.authFailureCooldownMs) {
    throw new IsapiError('DEVICE_AUTH_FAILED', `${operation}: these credentials were rejected recently; not spending another login attempt`, ctx)
  }
}

/** A 401 after real credentials: the login counted. Records it and returns LOCKED or AUTH_FAILED. */
function rejected (s: AuthSettings, operation: string, res: IsapiHttpResponse) {
  s.state.challenge = undefined
  const check = readUserCheck(safeDecode(res.body))
  const ctx = { deviceKey: s.deviceKey, operation, httpStatus: res.status, retryLoginTime: check?.retryLoginTime }
  if (check?.locked) return lockedError(s, operation, res.status, check.unlockTime)
  s.state.rejectedAt.set(credentialFingerprint(s.username, s.password), s.now())
  const left = check?.retryLoginTime === undefined ? '' : ` (${check.retryLoginTime} attempts left before lockout)`
  return new IsapiError('DEVICE_AUTH_FAILED', `${operation}: device rejected the credentials${left}`, ctx)
}

function lockedError (s: AuthSettings, operation: string, httpStatus: number, unlockTime?: number) {
  const seconds = unlockTime && unlockTime > 0 ? unlockTime : undefined
  s.state.lockedUntil.set(s.username, s.now() + (seconds ?? DEFAULT_LOCK_SECONDS) * 1000)
  const unlockAt = seconds === undefined ? undefined : new Date(s.now() + seconds * 1000)
  return new IsapiError('DEVICE_LOCKED', `${operation}: account locked on the device${seconds ? ` for ${seconds}s` : ''}`,
    { deviceKey: s.deviceKey, operation, httpStatus, unlockAt })
}

function authHeader (s: AuthSettings, req: IsapiHttpRequest, challenge: DigestChallenge, nc: number) {
  try {
    return digestAuthorization(challenge, s, req.method, req.path, nc)
  } catch (err) {
    throw new IsapiError('DEVICE_AUTH_FAILED', `${req.operation}: ${(err as Error).message}`,
      { deviceKey: s.deviceKey, operation: req.operation, local: true })
  }
}

// A challenge fetched ahead (renewChallenge) counts as fresh only this long; later the call probes itself.
const RENEWED_FRESH_MS = 5_000

/** Whether a cached challenge is young enough and has `calls` uses left. */
const challengeFits = (s: AuthSettings, c: CachedChallenge, calls: number) => {
  const ttl = c.uses === 0 ? Math.min(RENEWED_FRESH_MS, s.nonceTtlMs) : s.nonceTtlMs
  return s.now() - c.obtainedAt < ttl && c.uses + calls <= Math.min(s.nonceMaxUses, s.state.nonceUsesLearned ?? Infinity)
}

/** The cached challenge if it fits the next `calls` calls; else it is dropped. Call only in the device's queue. */
const usableChallenge = (s: AuthSettings, calls = 1) => {
  const c = s.state.challenge
  if (c && challengeFits(s, c, calls)) return c
  s.state.challenge = undefined
  return undefined
}

/** The one authenticated attempt with a challenge nobody has used yet: a 401 here means wrong credentials. */
async function attemptFresh (s: AuthSettings, req: IsapiHttpRequest, send: SendOnce, challenge: DigestChallenge) {
  const res = await send(req, authHeader(s, req, challenge, 1))
  if (res.status === 401) throw rejected(s, req.operation, res)
  s.state.challenge = { challenge, uses: 1, obtainedAt: s.now() }
  return res
}

type ProbeResult = { challenge: DigestChallenge } | { response: IsapiHttpResponse }

/**
 * Gets a fresh challenge without spending a login: bodyless requests are sent as they are; writes
 * are never sent unauthenticated (a device without auth would execute them), a GET deviceInfo is.
 */
async function probe (s: AuthSettings, req: IsapiHttpRequest, send: SendOnce): Promise<ProbeResult> {
  const probeReq: IsapiHttpRequest = req.body
    ? { operation: req.operation, method: 'GET', path: PROBE_PATH, timeoutMs: s.probeTimeoutMs }
    : req
  const res = await send(probeReq)
  if (res.status === 401) {
    const lock = readLock(res.body)
    if (lock) throw lockedError(s, req.operation, res.status, lock.unlockTime)
    const challenge = parseDigestChallenge(res.headers['www-authenticate'])
    if (challenge) return { challenge }
    throw new IsapiError('DEVICE_AUTH_FAILED', `${req.operation}: device sent no Digest challenge (configure authMode basic if it only speaks Basic)`,
      { deviceKey: s.deviceKey, operation: req.operation, httpStatus: 401 })
  }
  if (probeReq === req) return { response: res }
  if (res.status >= 200 && res.status < 300) return { response: await send(req) }
  throw deviceAnswerError({ deviceKey: s.deviceKey, operation: req.operation }, res.status)
}

async function viaProbe (s: AuthSettings, req: IsapiHttpRequest, send: SendOnce) {
  const probed = await probe(s, req, send)
  return 'response' in probed ? probed.response : await attemptFresh(s, req, send, probed.challenge)
}

/** Whether the next `calls` calls need no new challenge (Basic, or a cached nonce with that many uses left). Changes nothing. */
export const challengeLasts = (s: AuthSettings, calls = 1) =>
  s.authMode !== 'digest' || (s.state.challenge !== undefined && challengeFits(s, s.state.challenge, calls))

/**
 * Gets a fresh challenge now unless the cached nonce has uses left for the next `calls` calls (a
 * firmware whose nonces die after two uses needs one per person), so that round trip happens while
 * the caller does other work. An unauthenticated GET costs no login; any failure is left for the
 * next call to meet.
 */
export async function renewChallenge (s: AuthSettings, send: SendOnce, calls = 1) {
  if (s.authMode !== 'digest' || usableChallenge(s, calls)) return
  try {
    guardLocal(s, 'renewChallenge')
    const probed = await probe(s, { operation: 'renewChallenge', method: 'GET', path: PROBE_PATH, timeoutMs: s.probeTimeoutMs }, send)
    if ('challenge' in probed && !s.state.challenge) s.state.challenge = { challenge: probed.challenge, uses: 0, obtainedAt: s.now() }
  } catch {}
}

/**
 * Digest per ISAPI.md §2: reuse the cached nonce with an increasing nc; on a 401 retry exactly once
 * with a fresh challenge (the one in that 401, else a probe). A 401 to a fresh challenge is final,
 * so a wrong password costs one failed login per call, never a loop.
 */
export async function sendWithAuth (s: AuthSettings, req: IsapiHttpRequest, send: SendOnce): Promise<IsapiHttpResponse> {
  guardLocal(s, req.operation)
  if (s.authMode === 'basic') {
    const res = await send(req, basicAuthorization(s))
    if (res.status === 401) throw rejected(s, req.operation, res)
    return res
  }
  const cached = usableChallenge(s)
  if (!cached) return await viaProbe(s, req, send)
  // Fetched ahead and still unused: as good as a probe's, so a 401 to it is the verdict on the password.
  if (cached.uses === 0) return await attemptFresh(s, req, send, cached.challenge)
  cached.uses += 1
  const res = await send(req, authHeader(s, req, cached.challenge, cached.uses))
  if (res.status !== 401) return res
  s.state.challenge = undefined
  // Re-challenge before this use next time: resending a body (a face) after a dead nonce doubles the upload.
  if (cached.uses > 1) s.state.nonceUsesLearned = Math.min(s.state.nonceUsesLearned ?? Infinity, cached.uses - 1)
  const lock = readLock(res.body)
  // Not a verdict on the password: the cached nonce may simply have died (no way to tell apart).
  if (lock) throw lockedError(s, req.operation, res.status, lock.unlockTime)
  const next = parseDigestChallenge(res.headers['www-authenticate'])
  return next ? await attemptFresh(s, req, send, next) : await viaProbe(s, req, send)
}
