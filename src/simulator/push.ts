import { connect } from 'node:net'
import { printCJson } from './cjson.js'

export interface PushTarget {
  ipAddress: string
  portNo: number
  url: string
}

const BOUNDARY = 'MIME_boundary'

/**
 * The whole HTTP request a DS-K1T673 sends to an httpHosts listener: CRLF
 * headers in the device's order, one `event_log` part with its own
 * Content-Length and cJSON (tab, LF) body, then an optional Picture part.
 */
export function buildEventLogRequest (target: PushTarget, payload: unknown, picture?: Buffer): Buffer {
  const json = Buffer.from(printCJson(payload), 'utf8')
  const chunks: Buffer[] = [
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="event_log"\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`),
    json,
  ]
  if (picture) {
    chunks.push(
      Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\nContent-Length: ${picture.length}\r\nContent-ID: pictureImage\r\n\r\n`),
      picture
    )
  }
  chunks.push(Buffer.from(`\r\n--${BOUNDARY}--\r\n`))
  const body = Buffer.concat(chunks)
  const head = [
    `POST ${target.url || '/'} HTTP/1.1`,
    `Host: ${target.ipAddress}:${target.portNo}`,
    'Accept: */*',
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}`,
    'Connection: keep-alive',
    `Content-Length: ${body.length}`,
  ].join('\r\n')
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body])
}

/** Status code once the response head (and any Content-Length body) has arrived. */
function responseStatus (buf: Buffer): number | undefined {
  const headEnd = buf.indexOf('\r\n\r\n')
  if (headEnd < 0) return undefined
  const head = buf.subarray(0, headEnd).toString('latin1')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)
  if (!status) return 0
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (length && buf.length - headEnd - 4 < Number(length[1])) return undefined
  return Number(status[1])
}

/** Writes the exact bytes on a raw socket (an HTTP client would reorder or add headers). */
export function sendRawHttp (target: PushTarget, bytes: Buffer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.ipAddress, port: target.portNo })
    let received = Buffer.alloc(0)
    let settled = false
    const finish = (err: Error | undefined, status?: number) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(status!)
    }
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs)
    socket.on('connect', () => socket.write(bytes))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const status = responseStatus(received)
      if (status !== undefined) finish(status === 0 ? new Error('malformed response') : undefined, status)
    })
    socket.on('error', (err) => finish(err))
    socket.on('end', () => finish(new Error('connection closed before a response')))
  })
}
