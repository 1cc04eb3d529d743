import { createHash, randomUUID } from 'node:crypto'

/** RFC 2617 Digest as Hikvision terminals speak it: MD5, qop="auth", uri with its query string. */
export interface DigestChallenge {
  realm: string
  nonce: string
  qop?: string
  opaque?: string
  algorithm?: string
  stale?: boolean
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex')

/** Splits `k="v", k2=v2` on commas outside quotes. */
export function parseAuthParams (header: string): Record<string, string> {
  const params: Record<string, string> = {}
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (const m of header.matchAll(re)) params[m[1].toLowerCase()] = m[2] ?? m[3] ?? ''
  return params
}

export function parseDigestChallenge (header: string | string[] | undefined): DigestChallenge | undefined {
  const values = Array.isArray(header) ? header : header ? [header] : []
  const digest = values.find((v) => /^\s*digest\s/i.test(v))
  if (!digest) return undefined
  const p = parseAuthParams(digest.replace(/^\s*digest\s+/i, ''))
  if (!p.realm || !p.nonce) return undefined
  return { realm: p.realm, nonce: p.nonce, qop: p.qop, opaque: p.opaque, algorithm: p.algorithm, stale: p.stale?.toLowerCase() === 'true' }
}

/**
 * Up to 32 hex characters cut from a random UUID (Node buffers its entropy; randomBytes costs a system
 * call each time). Not every digit is random (the 13th is the UUID version), but a cnonce or a
 * multipart boundary only needs to be unpredictable and unique, which 16 characters (60 bits) are.
 */
export function randomHex (length: number) {
  if (length > 32) throw new RangeError(`randomHex gives at most 32 characters, not ${length}`)
  return randomUUID().replaceAll('-', '').slice(0, length)
}

export function digestResponse (args: { username: string, password: string, method: string, uri: string, realm: string, nonce: string, nc: string, cnonce: string, qop?: string }) {
  const ha1 = md5(`${args.username}:${args.realm}:${args.password}`)
  const ha2 = md5(`${args.method}:${args.uri}`)
  return args.qop ? md5(`${ha1}:${args.nonce}:${args.nc}:${args.cnonce}:${args.qop}:${ha2}`) : md5(`${ha1}:${args.nonce}:${ha2}`)
}

/** Builds the Authorization header for one request; nc counts uses of the same nonce. */
export function digestAuthorization (challenge: DigestChallenge, creds: { username: string, password: string }, method: string, uri: string, nc = 1, cnonce = randomHex(16)) {
  if (challenge.algorithm && challenge.algorithm.toUpperCase() !== 'MD5') throw new Error(`unsupported digest algorithm ${challenge.algorithm}`)
  const qop = challenge.qop?.split(',').map((q) => q.trim()).includes('auth') ? 'auth' : undefined
  const ncHex = nc.toString(16).padStart(8, '0')
  const response = digestResponse({ ...creds, method, uri, realm: challenge.realm, nonce: challenge.nonce, nc: ncHex, cnonce, qop })
  const parts = [
    `username="${creds.username}"`, `realm="${challenge.realm}"`, `nonce="${challenge.nonce}"`, `uri="${uri}"`,
    'algorithm=MD5', `response="${response}"`,
  ]
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`)
  if (qop) parts.push(`qop=${qop}`, `nc=${ncHex}`, `cnonce="${cnonce}"`)
  return `Digest ${parts.join(', ')}`
}

/** Basic is sent only to devices explicitly configured for it: it exposes the password on plain HTTP. */
export function basicAuthorization (creds: { username: string, password: string }) {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`
}
