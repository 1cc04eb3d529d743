import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'

/** The listener reply of the GFE capture (Flask/Werkzeug). */
const REPLY = 'HTTP/1.1 200 OK\r\nServer: Werkzeug/3.1.6 Python/3.10.10\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\n200'

function complete (buf: Buffer) {
  const headEnd = buf.indexOf('\r\n\r\n')
  if (headEnd < 0) return false
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, headEnd).toString('latin1'))
  return buf.length >= headEnd + 4 + Number(length?.[1] ?? 0)
}

/** A TCP listener that records each HTTP request byte-for-byte, as a Wireshark capture would. */
export async function startRawListener (reply = REPLY) {
  const requests: Buffer[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    let buf = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!complete(buf)) return
      requests.push(buf)
      buf = Buffer.alloc(0)
      socket.end(reply)
    })
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

export interface SplitPart { headers: string[], data: Buffer }

/** Splits a captured push the way robust listeners read it: by each part's own Content-Length. */
export function splitPush (raw: Buffer) {
  const headEnd = raw.indexOf('\r\n\r\n')
  const [requestLine, ...headers] = raw.subarray(0, headEnd).toString('latin1').split('\r\n')
  const body = raw.subarray(headEnd + 4)
  const parts: SplitPart[] = []
  let pos = 0
  const expect = (s: string) => {
    if (body.subarray(pos, pos + s.length).toString('latin1') !== s) throw new Error(`expected ${JSON.stringify(s)} at ${pos}`)
    pos += s.length
  }
  expect('--MIME_boundary\r\n')
  while (true) {
    const end = body.indexOf('\r\n\r\n', pos)
    const partHeaders = body.subarray(pos, end).toString('latin1').split('\r\n')
    const length = Number(/^Content-Length: (\d+)$/m.exec(partHeaders.join('\n'))?.[1])
    pos = end + 4
    parts.push({ headers: partHeaders, data: body.subarray(pos, pos + length) })
    pos += length
    expect('\r\n--MIME_boundary')
    if (body.subarray(pos, pos + 2).toString() === '--') {
      expect('--\r\n')
      break
    }
    expect('\r\n')
  }
  if (pos !== body.length) throw new Error('trailing bytes after the closing boundary')
  return { requestLine, headers, body, parts }
}
