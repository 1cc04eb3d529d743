import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { paged } from '../../lib/schemas.js'
import type { SyncJob } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { notFound } from '../../lib/errors.js'
import { idempotent } from '../../lib/idempotency.js'
import { hasRole, type AuthUser } from '../../plugins/auth.js'
import { toJobDto, type JobsService } from './sync.jobs.js'
import { isFinished } from './sync.repository.js'
import { jobDetailSchema, jobItemPage, jobItemsQuery, jobListQuery, jobPage, jobParams, jobRetryBody, jobSchema } from './sync.schemas.js'

const JOB_ROLES = ['SCHOOL_ADMIN', 'OPERATOR'] as const
const SSE_POLL_MS = 500
const SSE_KEEPALIVE_MS = 15_000

export const jobsRoutes: FastifyPluginAsyncZod<{ jobs: JobsService }> = async (app, { jobs }) => {
  const onRequest = [app.authenticate]
  const tags = ['jobs']

  /** Another school's job answers 404, like a missing one. */
  async function visibleJob (user: AuthUser, jobId: string): Promise<SyncJob> {
    const job = await jobs.mustFind(jobId)
    if (!hasRole(user, JOB_ROLES) || (user.role !== 'SUPER_ADMIN' && user.schoolId !== job.schoolId)) throw notFound('Job')
    return job
  }
  const detail = async (job: SyncJob) => ({ ...toJobDto(job), devices: await jobs.devices(job.id) })

  app.get('/jobs', {
    onRequest,
    schema: { tags, operationId: 'listJobs', querystring: jobListQuery, response: { 200: jobPage } },
  }, async (request) => {
    const user = request.user
    if (!hasRole(user, JOB_ROLES)) return paged(request.query, { items: [], total: 0 })
    return paged(request.query, await jobs.list(user.role === 'SUPER_ADMIN' ? null : [user.schoolId as string], request.query))
  })

  app.get('/jobs/:jobId', {
    onRequest,
    schema: { tags, operationId: 'getJob', params: jobParams, response: { 200: jobDetailSchema } },
  }, async (request) => detail(await visibleJob(request.user, request.params.jobId)))

  app.get('/jobs/:jobId/items', {
    onRequest,
    schema: { tags, operationId: 'listJobItems', params: jobParams, querystring: jobItemsQuery, response: { 200: jobItemPage } },
  }, async (request) => {
    const job = await visibleJob(request.user, request.params.jobId)
    return paged(request.query, await jobs.items(job.id, request.query))
  })

  app.post('/jobs/:jobId/cancel', {
    onRequest,
    schema: { tags, operationId: 'cancelJob', params: jobParams, response: { 200: jobSchema } },
  }, async (request) => (await idempotent(app.prisma, request, async () =>
    ({ statusCode: 200, body: toJobDto(await jobs.cancel(actorContext(request), await visibleJob(request.user, request.params.jobId))) }))).body)

  app.post('/jobs/:jobId/retry', {
    onRequest,
    schema: { tags, operationId: 'retryJob', params: jobParams, body: jobRetryBody, response: { 200: jobSchema }, description: 'Runs only the failed items again' },
  }, async (request) => (await idempotent(app.prisma, request, async () => {
    const job = await visibleJob(request.user, request.params.jobId)
    return { statusCode: 200, body: toJobDto(await jobs.retry(actorContext(request), job, request.body.deviceIds)) }
  })).body)

  app.get('/jobs/:jobId/events', {
    onRequest: [app.authenticateStream],
    schema: {
      tags, operationId: 'jobEvents', params: jobParams,
      querystring: z.object({ token: z.string().optional().describe('A stream token from POST /auth/stream-token, for EventSource') }),
      description: 'Server-Sent Events: `progress` with the job (and its devices) whenever it changes, then `end` once it has finished',
      response: { 200: z.string().describe('text/event-stream') },
    },
  }, async (request, reply) => {
    let job = await visibleJob(request.user, request.params.jobId)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    let closed = false
    request.raw.on('close', () => { closed = true })
    let last = ''
    let lastWrite = Date.now()
    try {
      for (;;) {
        const snapshot = JSON.stringify(await detail(job))
        if (snapshot !== last) {
          res.write(`event: progress\ndata: ${snapshot}\n\n`)
          last = snapshot
          lastWrite = Date.now()
        } else if (Date.now() - lastWrite > SSE_KEEPALIVE_MS) {
          res.write(': keep-alive\n\n')
          lastWrite = Date.now()
        }
        if (isFinished(job.status)) {
          send('end', { status: job.status })
          break
        }
        await new Promise((resolve) => setTimeout(resolve, SSE_POLL_MS))
        if (closed) break
        job = await jobs.mustFind(job.id)
      }
    } catch (err) {
      request.log.warn({ err }, 'job event stream ended by an error')
    } finally {
      res.end()
    }
  })
}
