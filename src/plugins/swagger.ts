import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'

export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'facegate API', version: '1.0.0', description: 'School roster, Hikvision face terminals, sync and attendance.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
    hideUntagged: true,
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  if (app.config.DOCS_ENABLED) {
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })
  }
}, { name: 'swagger', dependencies: ['config'] })
