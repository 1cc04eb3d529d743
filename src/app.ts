import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyServerOptions } from 'fastify'
import helmet from '@fastify/helmet'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from './config.js'
import configPlugin from './plugins/config.js'
import prismaPlugin from './plugins/prisma.js'
import errorHandler from './plugins/error-handler.js'
import requestId from './plugins/request-id.js'
import swagger from './plugins/swagger.js'
import auth from './plugins/auth.js'
import health from './plugins/health.js'
import multipart from './plugins/multipart.js'
import metrics from './plugins/metrics.js'
import isapi from './plugins/isapi.js'
import { registerModules } from './modules/index.js'

export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-webhook-secret"]',
  '*.password', '*.newPassword', '*.currentPassword', '*.token', '*.accessToken', '*.refreshToken',
  '*.secret', '*.apiKey', '*.isapiPassword', '*.passwordHash',
]

export interface BuildAppOptions {
  config: Config
  logger?: FastifyServerOptions['logger']
}

export async function buildApp ({ config, logger }: BuildAppOptions) {
  const app = Fastify({
    logger: logger ?? {
      level: config.LOG_LEVEL,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(config.LOG_PRETTY && { transport: { target: 'pino-pretty' } }),
    },
    genReqId: () => randomUUID(),
    trustProxy: config.TRUST_PROXY,
    connectionTimeout: 60_000,
    requestTimeout: 120_000,
    keepAliveTimeout: 10_000,
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  await app.register(configPlugin, { config })
  await app.register(errorHandler)
  await app.register(requestId)
  await app.register(helmet, { contentSecurityPolicy: false })
  await app.register(cors, { origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false })
  await app.register(rateLimit, { global: false })
  await app.register(metrics)
  await app.register(prismaPlugin)
  await app.register(isapi)
  await app.register(multipart)
  await app.register(swagger)
  await app.register(auth)
  await app.register(health)
  await registerModules(app)
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
