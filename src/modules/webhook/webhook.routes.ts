import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { unauthorized } from '../../lib/errors.js'
import { schoolParams, uuid } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { parsePushBody } from './webhook.parse.js'
import type { WebhookSecrets } from './webhook.secrets.js'

const directionParam = z.enum(['in', 'out'])
const intakeParams = z.object({ schoolId: uuid, direction: directionParam, secret: z.string().min(1).max(200).optional() })

export interface IntakeOptions {
  db: PrismaClient
  secrets: WebhookSecrets
  kick: () => void
  bodyLimit: number
  rawLimit: number
}

/**
 * The terminals' endpoint, the same paths the upstream used. It only checks the secret, parses the
 * body (a bad one is a 400 and nothing is kept) and stores it raw in the inbox; events are made
 * off the request path. Route log level is `warn` so the secret in the URL never reaches the logs.
 */
export const webhookIntakeRoutes: FastifyPluginAsyncZod<IntakeOptions> = async (app, o) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_req, body, done) => done(null, body))
  const known = new Map<string, number>()

  async function schoolExists (schoolId: string) {
    const hit = known.get(schoolId)
    if (hit && Date.now() - hit < 60_000) return true
    const school = await o.db.school.findFirst({ where: { id: schoolId, deletedAt: null }, select: { id: true } })
    if (school) known.set(schoolId, Date.now())
    return !!school
  }

  const handler = async (request: { params: z.infer<typeof intakeParams>, query: { secret?: string }, body: unknown, headers: Record<string, unknown>, ip: string }) => {
    const { schoolId, direction } = request.params
    const secret = request.params.secret ?? request.query.secret
    if (!await schoolExists(schoolId) || !await o.secrets.verify(schoolId, direction, secret)) {
      throw unauthorized('Unknown school or wrong webhook secret', 'WEBHOOK_SECRET_INVALID')
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const contentType = typeof request.headers['content-type'] === 'string' ? request.headers['content-type'] : undefined
    const parsed = parsePushBody(body, contentType)
    await o.db.eventInbox.create({
      data: {
        // An oversized body keeps its head: terminals put the event JSON before the picture.
        schoolId, direction, remoteIp: request.ip, contentType: contentType ?? null,
        body: new Uint8Array(body.length > o.rawLimit ? body.subarray(0, o.rawLimit) : body), bodyTruncated: body.length > o.rawLimit,
      },
    })
    o.kick()
    return { ok: true as const, events: parsed.events.length }
  }
  const schema = {
    tags: ['webhook'], security: [], querystring: z.object({ secret: z.string().optional() }),
    response: { 200: z.object({ ok: z.literal(true), events: z.number().int() }) },
  }
  app.post('/webhook/:schoolId/:direction', { logLevel: 'warn', schema: { ...schema, operationId: 'webhookIntake', params: intakeParams.omit({ secret: true }) } }, (req) => handler(req as never))
  app.post('/webhook/:schoolId/:direction/:secret', { logLevel: 'warn', schema: { ...schema, operationId: 'webhookIntakeWithSecret', params: intakeParams } }, (req) => handler(req as never))
}

const webhookInfo = z.object({
  directions: z.array(z.object({
    direction: directionParam,
    url: z.string().describe('Full URL to give the terminal (secret as last path segment)'),
    urlWithQuerySecret: z.string(),
    secret: z.string(),
    previousValidUntil: z.string().nullable().describe('A rotated secret keeps working until then'),
  })),
}).meta({ id: 'WebhookInfo' })

export const webhookAdminRoutes: FastifyPluginAsyncZod<{ secrets: WebhookSecrets, publicBaseUrl: string }> = async (app, { secrets, publicBaseUrl }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['webhook']
  const adminOnly = requireSchoolAccess('SCHOOL_ADMIN')
  const base = publicBaseUrl.replace(/\/+$/, '')
  const info = async (schoolId: string) => ({
    directions: (await secrets.current(schoolId)).map((d) => ({
      ...d,
      url: `${base}/webhook/${schoolId}/${d.direction}/${d.secret}`,
      urlWithQuerySecret: `${base}/webhook/${schoolId}/${d.direction}?secret=${d.secret}`,
    })),
  })

  app.get('/schools/:schoolId/webhook-info', {
    preHandler: [adminOnly],
    schema: { tags, operationId: 'webhookInfo', params: schoolParams, response: { 200: webhookInfo } },
  }, async (request) => info(request.params.schoolId))

  app.post('/schools/:schoolId/webhook/rotate', {
    preHandler: [adminOnly],
    schema: {
      tags, operationId: 'rotateWebhookSecret', params: schoolParams,
      body: z.object({ directions: z.array(directionParam).min(1).default(['in', 'out']), graceMinutes: z.number().int().min(0).max(7 * 24 * 60).default(24 * 60) }).default({ directions: ['in', 'out'], graceMinutes: 1440 }),
      response: { 200: webhookInfo },
    },
  }, async (request) => {
    await secrets.rotate(actorContext(request), request.params.schoolId, request.body.directions, request.body.graceMinutes)
    return info(request.params.schoolId)
  })
}
