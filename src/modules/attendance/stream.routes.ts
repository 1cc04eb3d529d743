import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { visibleClassScope } from '../classes/classes.service.js'
import { toDaySummaryDto } from './attendance.schemas.js'
import { studentIdsIn } from './attendance.visibility.js'
import { openDayFeed } from './days.feed.js'
import { FEED_PAGE, openEventFeed } from './events.feed.js'
import { toEventDto } from './events.schemas.js'

const POLL_MS = 1000
const KEEPALIVE_MS = 15_000

/**
 * Live school feed over Server-Sent Events: `event` for each new terminal event, `attendance` for
 * each changed day summary. Read from the database, so events processed by any server process show up.
 */
export const streamRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/schools/:schoolId/events/stream', {
    onRequest: [app.authenticateStream],
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD')],
    schema: {
      tags: ['attendance'], operationId: 'eventStream', params: schoolParams,
      querystring: z.object({ token: z.string().optional().describe('A stream token from POST /auth/stream-token (EventSource cannot send headers)') }),
      description: 'Server-Sent Events: `event` (new terminal events) and `attendance` (changed day summaries)',
      response: { 200: z.string().describe('text/event-stream') },
    },
  }, async (request, reply) => {
    const { schoolId } = request.params
    const visible = await studentIdsIn(app.prisma, schoolId, await visibleClassScope(app.prisma, actorContext(request)))
    const nextEvents = await openEventFeed(app.prisma, schoolId, visible)
    const nextDays = await openDayFeed(app.prisma, schoolId, visible)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(': connected\n\n')
    const connection = { open: true }
    request.raw.on('close', () => { connection.open = false })
    let lastWrite = Date.now()
    const send = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      lastWrite = Date.now()
    }
    try {
      while (connection.open) {
        const events = await nextEvents()
        for (const e of events) send('event', toEventDto(e))
        const days = await nextDays()
        for (const d of days) send('attendance', toDaySummaryDto(d))
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          res.write(': keep-alive\n\n')
          lastWrite = Date.now()
        }
        // A full page means a backlog: the next one goes out at once.
        if (events.length < FEED_PAGE && days.length < FEED_PAGE) await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
    } catch (err) {
      request.log.warn({ err }, 'event stream ended by an error')
    } finally {
      res.end()
    }
  })
}
