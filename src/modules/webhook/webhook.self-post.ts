import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import type { SelfPost } from './webhook.selftest.js'

const TIMEOUT_MS = 5000

/**
 * Posts to this server's own intake over HTTP when it is listening, so the test crosses the real
 * socket, body limits and content-type parsing; in-process (inject) otherwise, e.g. in a worker
 * process that serves no HTTP.
 */
export function selfPost (app: FastifyInstance): SelfPost {
  return async (path, body, contentType) => {
    const address = app.server.listening ? app.server.address() as AddressInfo | string | null : null
    if (address && typeof address === 'object') {
      const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : address.family === 'IPv6' ? `[${address.address}]` : address.address
      const res = await request(`http://${host}:${address.port}${path}`, {
        method: 'POST', body, headers: { 'content-type': contentType }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS,
      })
      return { statusCode: res.statusCode, body: await res.body.text(), via: 'http' }
    }
    const res = await app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': contentType } })
    return { statusCode: res.statusCode, body: res.body, via: 'inject' }
  }
}
