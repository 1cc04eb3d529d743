import { Agent, request } from 'undici'
import type { DigestChallenge } from '../../src/integrations/isapi/isapi.digest.js'
import { digestAuthorization, parseDigestChallenge } from '../../src/integrations/isapi/isapi.digest.js'

/** Test-only ISAPI caller: real HTTP on 127.0.0.1 through undici, Digest from isapi.digest.ts. */
export interface SimResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  text: string
  json: <T = any>() => T
}

export interface CallInit {
  json?: unknown
  xml?: string
  body?: Buffer | string
  headers?: Record<string, string>
  timeoutMs?: number
}

export interface AuthInit extends CallInit {
  nc?: number
  username?: string
  password?: string
  /** Digest uri to sign; defaults to the request path (a mismatch is a failed login). */
  uri?: string
}

function encode (init: CallInit): { body?: Buffer | string, headers: Record<string, string> } {
  const headers = { ...init.headers }
  if (init.json !== undefined) return { body: JSON.stringify(init.json), headers: { 'content-type': 'application/json', ...headers } }
  if (init.xml !== undefined) return { body: init.xml, headers: { 'content-type': 'application/xml', ...headers } }
  return { body: init.body, headers }
}

export function createTestClient (opts: { baseUrl: string, username: string, password: string }) {
  const dispatcher = new Agent({ keepAliveTimeout: 1000, connections: 16 })

  async function raw (method: string, path: string, init: CallInit = {}): Promise<SimResponse> {
    const { body, headers } = encode(init)
    const timeoutMs = init.timeoutMs ?? 10_000
    const res = await request(`${opts.baseUrl}${path}`, {
      method: method as 'GET',
      body,
      headers,
      dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    const buf = Buffer.from(await res.body.arrayBuffer())
    const text = buf.toString('utf8')
    return { status: res.statusCode, headers: res.headers, body: buf, text, json: () => JSON.parse(text) }
  }

  async function challenge (path = '/ISAPI/System/deviceInfo'): Promise<DigestChallenge> {
    const res = await raw('GET', path)
    const ch = parseDigestChallenge(res.headers['www-authenticate'])
    if (res.status !== 401 || !ch) throw new Error(`expected a digest challenge, got ${res.status}`)
    return ch
  }

  function authorized (ch: DigestChallenge, method: string, path: string, init: AuthInit = {}) {
    const creds = { username: init.username ?? opts.username, password: init.password ?? opts.password }
    const authorization = digestAuthorization(ch, creds, method, init.uri ?? path, init.nc ?? 1)
    return raw(method, path, { ...init, headers: { ...init.headers, authorization } })
  }

  /** One logical call the way field clients do it: unauthenticated attempt, then answer its challenge. */
  async function call (method: string, path: string, init: AuthInit = {}): Promise<SimResponse> {
    const first = await raw(method, path, init)
    const ch = parseDigestChallenge(first.headers['www-authenticate'])
    if (first.status !== 401 || !ch) return first
    return authorized(ch, method, path, init)
  }

  return { raw, challenge, authorized, call, close: () => dispatcher.close() }
}

export type TestClient = ReturnType<typeof createTestClient>

/** Bytes that pass the terminal's JPEG check (FF D8 FF … FF D9) of the requested size. */
export function fakeJpeg (size = 2048, fill = 0x42): Buffer {
  const buf = Buffer.alloc(size, fill)
  buf.set([0xff, 0xd8, 0xff, 0xe0], 0)
  buf.set([0xff, 0xd9], size - 2)
  return buf
}

/** multipart/form-data as WN builds it: FaceDataRecord JSON part first, then the picture. */
export function faceMultipart (record: unknown, image: Buffer, imageName = 'FaceImage') {
  const boundary = '----facegateSimTest'
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="FaceDataRecord";\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(record)}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${imageName}"; filename="face.jpg";\r\nContent-Type: image/jpeg\r\n\r\n`),
    image,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

export function userBody (employeeNo: string, name = `Pupil ${employeeNo}`, extra: Record<string, unknown> = {}) {
  return {
    UserInfo: {
      employeeNo,
      name,
      userType: 'normal',
      Valid: { enable: true, beginTime: '2024-09-01T00:00:00', endTime: '2037-12-31T23:59:59', timeType: 'local' },
      doorRight: '1',
      RightPlan: [{ doorNo: 1, planTemplateNo: '1' }],
      gender: 'male',
      ...extra,
    },
  }
}
