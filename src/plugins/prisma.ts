import fp from 'fastify-plugin'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

declare module 'fastify' {
  interface FastifyInstance { prisma: PrismaClient }
}

export function createPrismaClient (databaseUrl: string, poolMax: number) {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolMax })
  return new PrismaClient({ adapter, log: [{ emit: 'event', level: 'warn' }, { emit: 'event', level: 'error' }] })
}

export default fp(async (app) => {
  const prisma = createPrismaClient(app.config.DATABASE_URL, app.config.DB_POOL_MAX)
  prisma.$on('warn', (e) => app.log.warn({ prisma: e.message }, 'prisma warning'))
  prisma.$on('error', (e) => app.log.error({ prisma: e.message }, 'prisma error'))
  await prisma.$connect()
  app.decorate('prisma', prisma)
  app.addHook('onClose', async () => { await prisma.$disconnect() })
}, { name: 'prisma', dependencies: ['config'] })
