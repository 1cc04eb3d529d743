import { timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { registerIsapiMetrics, type IsapiMetrics } from '../integrations/isapi/index.js'
import { unauthorized } from '../lib/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: Registry, isapi: IsapiMetrics }
  }
}

function bearerMatches (header: string | undefined, token: string) {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '')
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * Prometheus metrics on a registry of this app (not prom-client's global one, so several apps in one
 * process stay apart): process defaults, HTTP requests by route, and every ISAPI call.
 */
export default fp(async (app) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  })
  app.decorate('metrics', { registry, isapi: registerIsapiMetrics(registry) })

  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label so scanners cannot blow up the series count.
    const route = request.routeOptions.url ?? 'unmatched'
    http.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  const token = app.config.METRICS_TOKEN
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token && !bearerMatches(request.headers.authorization, token)) throw unauthorized('A valid metrics bearer token is required', 'METRICS_TOKEN_REQUIRED')
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'metrics', dependencies: ['config'] })
