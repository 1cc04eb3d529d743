import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { digestResponse, parseAuthParams } from '../isapi.digest.js'

/** A small scripted terminal for edge cases: Digest like a DS-K1T (userCheck 401s), one handler for the rest. */
export interface FakeRequest {
  method: string
  url: string
  path: string
  headers: IncomingMessage['headers']
  body: Buffer
  json<T = unknown>(): T
  raw: { req: IncomingMessage, res: ServerResponse }
}

export interface FakeReply {
  status?: number
  body?: string | Buffer
  contentType?: string
  headers?: Record<string, string>
}

export interface FakeDeviceOptions {
  username?: string
  password?: string
  realm?: string
  /** The nonce is refused (401 without challenge) on this use; default never. */
  nonceDiesOnUse?: number
  /** When a stale nonce is refused, include a fresh challenge in that 401. */
  staleWithChallenge?: boolean
  /** Body of the 401 answering a wrong password (default: a userCheck with retryLoginTime). */
  failedLoginBody?: (failures: number) => string
  requireAuth?: boolean
  /** Answers every authenticated request; return undefined to leave the request hanging. */
  route: (req: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>
}

export interface LoggedRequest {
  method: string
  url: string
  authorization?: string
  contentType?: string
  contentLength?: string
  body: Buffer
  outcome: 'challenge' | 'stale' | 'rejected' | 'ok'
}

export const userCheckXml = (extra = '') =>
  '<?xml version="1.0" encoding="UTF-8"?>\n<userCheck version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\n' +
  `<statusValue>401</statusValue>\n<statusString>Unauthorized</statusString>\n<isActivated>false</isActivated>\n${extra}</userCheck>\n`

export const retryUserCheck = (left: number) => userCheckXml(`<lockStatus>unlock</lockStatus>\n<unlockTime>0</unlockTime>\n<retryLoginTime>${left}</retryLoginTime>\n`)

export const json = (value: unknown, status = 200): FakeReply => ({ status, body: JSON.stringify(value), contentType: 'application/json' })
export const xml = (body: string, status = 200): FakeReply => ({ status, body, contentType: 'application/xml' })
export const statusJson = (statusCode: number, subStatusCode: string, status = 400, errorMsg = subStatusCode) =>
  json({ statusCode, statusString: statusCode === 1 ? 'OK' : 'Invalid', subStatusCode, errorMsg }, status)
export const okJson = () => json({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' })

export interface FakeDevice {
  url: string
  port: number
  requests: LoggedRequest[]
  /** Requests that carried an Authorization header. */
  readonly authAttempts: number
  readonly failedLogins: number
  readonly maxInFlight: number
  setPassword(password: string): void
  close(): Promise<void>
}

type Verdict = LoggedRequest['outcome']

/** Terminal-side Digest: nonces it issued, counted per use, verified against the uri actually requested. */
function createDigestVerifier (o: FakeDeviceOptions, realm: string, credentials: () => { username: string, password: string }) {
  const nonces = new Map<string, number>()
  return {
    challenge () {
      const nonce = randomBytes(16).toString('base64')
      nonces.set(nonce, 0)
      return `Digest qop="auth", realm="${realm}", nonce="${nonce}", stale="false", opaque="", domain="::"`
    },
    verify (req: IncomingMessage): Verdict {
      const header = req.headers.authorization
      if (!header?.startsWith('Digest ')) return 'challenge'
      const p = parseAuthParams(header.slice(7))
      const uses = nonces.get(p.nonce)
      if (uses === undefined) return 'stale'
      nonces.set(p.nonce, uses + 1)
      if (o.nonceDiesOnUse !== undefined && uses + 1 >= o.nonceDiesOnUse) {
        nonces.delete(p.nonce)
        return 'stale'
      }
      const { username, password } = credentials()
      const expected = digestResponse({ username, password, method: req.method ?? 'GET', uri: p.uri, realm, nonce: p.nonce, nc: p.nc, cnonce: p.cnonce, qop: p.qop })
      return p.username === username && p.uri === req.url && p.response === expected ? 'ok' : 'rejected'
    },
  }
}

const send = (res: ServerResponse, reply: FakeReply) => {
  res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/xml', ...reply.headers })
  res.end(reply.body ?? '')
}

export async function startFakeDevice (o: FakeDeviceOptions): Promise<FakeDevice> {
  let password = o.password ?? 'Secret123'
  const digest = createDigestVerifier(o, o.realm ?? 'DS-FAKE0001', () => ({ username: o.username ?? 'admin', password }))
  const requests: LoggedRequest[] = []
  const counters = { failedLogins: 0, inFlight: 0, maxInFlight: 0 }

  const authReply = (verdict: Verdict): FakeReply | undefined => {
    if (verdict === 'challenge') return { status: 401, body: userCheckXml(), headers: { 'www-authenticate': digest.challenge() } }
    if (verdict === 'stale') return { status: 401, body: userCheckXml(), headers: o.staleWithChallenge ? { 'www-authenticate': digest.challenge() } : {} }
    if (verdict !== 'rejected') return undefined
    counters.failedLogins++
    const body = o.failedLoginBody?.(counters.failedLogins) ?? retryUserCheck(Math.max(0, 5 - counters.failedLogins))
    return { status: 401, body, headers: { 'www-authenticate': digest.challenge() } }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const verdict: Verdict = o.requireAuth === false ? 'ok' : digest.verify(req)
    const url = req.url ?? '/'
    requests.push({
      method: req.method ?? '', url, authorization: req.headers.authorization, contentType: req.headers['content-type'],
      contentLength: req.headers['content-length'], body, outcome: verdict,
    })
    const denied = authReply(verdict)
    if (denied) return send(res, denied)
    const reply = await o.route({
      method: req.method ?? '', url, path: url.split('?')[0], headers: req.headers, body,
      json: <T>() => JSON.parse(body.toString('utf8')) as T, raw: { req, res },
    })
    if (reply) send(res, reply)
  }

  const server: Server = createServer((req, res) => {
    counters.inFlight++
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
    res.on('close', () => { counters.inFlight-- })
    handle(req, res).catch((err: unknown) => { if (!res.headersSent) send(res, { status: 500, body: String(err) }) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get authAttempts () { return requests.filter((r) => r.authorization).length },
    get failedLogins () { return counters.failedLogins },
    get maxInFlight () { return counters.maxInFlight },
    setPassword: (p) => { password = p },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
