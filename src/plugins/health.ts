import fp from 'fastify-plugin'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { pendingMigrations } from '../db/migrate.js'
import { sendProblem } from './error-handler.js'

const readySchema = z.object({ status: z.literal('ok'), database: z.literal('ok'), migrations: z.literal('applied') })

export default fp(async (app) => {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  routes.get('/health/live', {
    schema: { tags: ['health'], operationId: 'healthLive', security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))

  routes.get('/health/ready', {
    schema: { tags: ['health'], operationId: 'healthReady', security: [], response: { 200: readySchema } },
  }, async (request, reply) => {
    let pending: string[]
    try {
      pending = await pendingMigrations((sql) => app.prisma.$queryRawUnsafe(sql))
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return sendProblem(request, reply, { status: 503, code: 'DATABASE_UNAVAILABLE', title: 'Service Unavailable', detail: 'The database is not reachable' })
    }
    if (pending.length > 0) {
      return sendProblem(request, reply, { status: 503, code: 'MIGRATIONS_PENDING', title: 'Service Unavailable', detail: `Pending migrations: ${pending.join(', ')}` })
    }
    return { status: 'ok' as const, database: 'ok' as const, migrations: 'applied' as const }
  })
}, { name: 'health', dependencies: ['prisma'] })
