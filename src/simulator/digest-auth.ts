import { randomBytes, timingSafeEqual } from 'node:crypto'
import { digestResponse, parseAuthParams } from '../integrations/isapi/isapi.digest.js'
import type { UserCheck } from './responses.js'

export interface DigestAuthOptions {
  username: string
  password: string
  realm: string
  now: () => number
  nonceDiesOnUse: number
  nonceMaxAgeMs: number
  lockoutThreshold: number
  lockoutMs: number
}

export type AuthResult =
  | { outcome: 'ok' }
  | { outcome: 'challenge', header: string, check: UserCheck }
  | { outcome: 'rejected', reason: 'stale-nonce' | 'bad-credentials' | 'locked', check: UserCheck }

interface NonceEntry { issuedAt: number, uses: number }

const MAX_NONCES = 1024

/**
 * Server side of the terminal's Digest auth: short-lived nonces that are
 * refused (401, no new challenge) once used up or too old, and an account
 * lock-out after repeated wrong passwords presented with a valid nonce.
 */
export function createDigestAuth (opts: DigestAuthOptions) {
  const nonces = new Map<string, NonceEntry>()
  let failedLogins = 0
  let lockedUntil: number | undefined

  function refreshLock () {
    if (lockedUntil !== undefined && opts.now() >= lockedUntil) {
      lockedUntil = undefined
      failedLogins = 0
    }
  }

  function userCheck (): UserCheck {
    refreshLock()
    const locked = lockedUntil !== undefined
    return {
      isActivated: true,
      lock: {
        locked,
        unlockTime: locked ? Math.ceil((lockedUntil! - opts.now()) / 1000) : 0,
        retryLoginTime: locked ? 0 : Math.max(0, opts.lockoutThreshold - failedLogins),
      },
    }
  }

  function issueChallenge (): AuthResult {
    const now = opts.now()
    // Oldest first (insertion order): stop at the first live one once under the cap.
    for (const [n, e] of nonces) {
      if (now - e.issuedAt <= opts.nonceMaxAgeMs && nonces.size < MAX_NONCES) break
      nonces.delete(n)
    }
    const nonce = Buffer.from(randomBytes(16).toString('hex')).toString('base64')
    nonces.set(nonce, { issuedAt: now, uses: 0 })
    const header = `Digest qop="auth", realm="${opts.realm}", nonce="${nonce}", stale="false", opaque="", domain="::"`
    return { outcome: 'challenge', header, check: { isActivated: false } }
  }

  /** Consumes one use of the nonce; false when it is unknown, too old or used up. */
  function takeNonce (nonce: string | undefined) {
    const entry = nonce === undefined ? undefined : nonces.get(nonce)
    if (!entry || nonce === undefined) return false
    entry.uses += 1
    const dead = opts.now() - entry.issuedAt > opts.nonceMaxAgeMs || entry.uses >= opts.nonceDiesOnUse
    if (dead) nonces.delete(nonce)
    return !dead
  }

  function credentialsMatch (p: Record<string, string>, method: string, url: string) {
    if (p.username !== opts.username || p.realm !== opts.realm || p.uri !== url) return false
    if (p.qop !== 'auth' || !p.nc || !p.cnonce || !p.response) return false
    if (p.algorithm !== undefined && p.algorithm.toUpperCase() !== 'MD5') return false
    const expected = digestResponse({ username: opts.username, password: opts.password, method, uri: url, realm: opts.realm, nonce: p.nonce, nc: p.nc, cnonce: p.cnonce, qop: 'auth' })
    const given = Buffer.from(p.response.toLowerCase())
    return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected))
  }

  function check (method: string, url: string, authorization: string | undefined): AuthResult {
    if (!authorization || !/^\s*digest\s/i.test(authorization)) return issueChallenge()
    const p = parseAuthParams(authorization.replace(/^\s*digest\s+/i, ''))
    if (!takeNonce(p.nonce)) return { outcome: 'rejected', reason: 'stale-nonce', check: userCheck() }
    refreshLock()
    if (lockedUntil !== undefined) return { outcome: 'rejected', reason: 'locked', check: userCheck() }
    if (!credentialsMatch(p, method, url)) {
      failedLogins += 1
      if (failedLogins >= opts.lockoutThreshold) lockedUntil = opts.now() + opts.lockoutMs
      return { outcome: 'rejected', reason: 'bad-credentials', check: userCheck() }
    }
    failedLogins = 0
    return { outcome: 'ok' }
  }

  function snapshot () {
    refreshLock()
    return { failedLogins, lockedUntil: lockedUntil === undefined ? null : new Date(lockedUntil).toISOString(), liveNonces: nonces.size }
  }

  return { check, snapshot }
}

export type DigestAuth = ReturnType<typeof createDigestAuth>
