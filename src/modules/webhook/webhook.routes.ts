import type { FastifyError } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { sendProblem } from '../../plugins/error-handler.js'
import { z } from 'zod'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { unauthorized } from '../../lib/errors.js'
import { schoolParams, uuid } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { parsePushBody } from './webhook.parse.js'
import { webhookPath } from './webhook.path.js'
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

export interface InboxRow { schoolId: string, direction: 'in' | 'out', remoteIp: string, contentType: string | null, body: Buffer, bodyTruncated: boolean }

const INBOX_WRITERS = 4
const INBOX_BATCH = 100
/**
 * How long the processor is left to gather rows after a push. Run per push, it costs a few
 * transactions and ~3 ms of CPU per event, most of a core at 200 pushes/s, on the event loop
 * that answers the terminals.
 */
const KICK_DELAY_MS = 50

/**
 * Inbox rows, written by at most `writers` statements at a time; what arrives meanwhile waits and
 * goes in the next statement, so a quiet server writes each row at once and a busy one many per
 * statement and commit. A failed batch is retried row by row, so one bad row fails only its request.
 */
export function createInboxWriter (insert: (rows: InboxRow[]) => Promise<unknown>, { writers = INBOX_WRITERS, maxBatch = INBOX_BATCH } = {}) {
  const waiting: Array<{ row: InboxRow, done: (err?: unknown) => void }> = []
  let active = 0
  const run = (rows: InboxRow[]) => Promise.resolve().then(() => insert(rows))

  async function write () {
    active++
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, maxBatch)
        try {
          await run(batch.map((w) => w.row))
          for (const w of batch) w.done()
        } catch (err) {
          if (batch.length === 1) batch[0].done(err)
          else await Promise.all(batch.map((w) => run([w.row]).then(() => w.done(), (e: unknown) => w.done(e))))
        }
      }
    } finally {
      active--
    }
  }

  return (row: InboxRow) => new Promise<void>((resolve, reject) => {
    waiting.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) })
    if (active < writers) write().catch(() => {}) // never rejects: errors go to the waiting requests
  })
}

/** One statement for many rows: Prisma's create costs ~0.4 ms of CPU per row, this ~0.02–0.3 ms per statement. */
const insertInboxRows = (db: PrismaClient) => (rows: InboxRow[]) => db.$executeRawUnsafe(`
  INSERT INTO event_inbox (school_id, direction, remote_ip, content_type, body, body_truncated)
  SELECT school_id, direction::"DeviceDirection", remote_ip, content_type, decode(body, 'base64'), body_truncated
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS x(school_id, direction, remote_ip, content_type, body, body_truncated)`,
rows.map((r) => r.schoolId), rows.map((r) => r.direction), rows.map((r) => r.remoteIp), rows.map((r) => r.contentType),
rows.map((r) => r.body.toString('base64')), rows.map((r) => r.bodyTruncated))

/**
 * The terminals' endpoint, the same paths the upstream used. It only checks the secret, parses the
 * body (a bad one is a 400 and nothing is kept) and stores it raw in the inbox; events are made
 * off the request path. Route log level is `warn` so the secret in the URL never reaches the logs.
 */
export const webhookIntakeRoutes: FastifyPluginAsyncZod<IntakeOptions> = async (app, o) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_req, body, done) => done(null, body))
  // Terminals get 400 for every body we refuse, an oversized one included; other errors go to the app's handler.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err
    return sendProblem(request, reply, { status: 400, code: 'WEBHOOK_BODY_TOO_LARGE', title: 'Bad Request', detail: `The body is larger than ${o.bodyLimit} bytes` })
  })
  const known = new Map<string, number>()
  const writeInbox = createInboxWriter(insertInboxRows(o.db))
  let kickTimer: NodeJS.Timeout | undefined
  const kickSoon = () => {
    kickTimer ??= setTimeout(() => {
      kickTimer = undefined
      o.kick()
    }, KICK_DELAY_MS).unref()
  }
  app.addHook('onClose', async () => clearTimeout(kickTimer))

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
    await writeInbox({
      // An oversized body keeps its head: terminals put the event JSON before the picture.
      schoolId, direction, remoteIp: request.ip, contentType: contentType ?? null,
      body: body.length > o.rawLimit ? body.subarray(0, o.rawLimit) : body, bodyTruncated: body.length > o.rawLimit,
    })
    kickSoon()
    return { ok: true as const, events: parsed.events.length }
  }
  const schema = {
    tags: ['webhook'], security: [], querystring: z.object({ secret: z.string().optional() }),
    response: { 200: z.object({ ok: z.literal(true), events: z.number().int() }) },
  }
  app.post(webhookPath(':schoolId', ':direction'), { logLevel: 'warn', schema: { ...schema, operationId: 'webhookIntake', params: intakeParams.omit({ secret: true }) } }, (req) => handler(req as never))
  app.post(webhookPath(':schoolId', ':direction', ':secret'), { logLevel: 'warn', schema: { ...schema, operationId: 'webhookIntakeWithSecret', params: intakeParams } }, (req) => handler(req as never))
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
      url: `${base}${webhookPath(schoolId, d.direction, d.secret)}`,
      urlWithQuerySecret: `${base}${webhookPath(schoolId, d.direction)}?secret=${d.secret}`,
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
