import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Prisma } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { notFound } from '../../lib/errors.js'
import { pageOf, paged, schoolParams, skip } from '../../lib/schemas.js'
import { localDateOf, zonedInstant } from '../../lib/timezone.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { visibleClassScope } from '../classes/classes.service.js'
import type { EventPictures } from '../webhook/webhook.pictures.js'
import { studentIdsIn } from './attendance.visibility.js'
import { eventColumns, eventSchema, eventsQuery, toEventDto } from './events.schemas.js'

export const eventsRoutes: FastifyPluginAsyncZod<{ pictures: EventPictures }> = async (app, { pictures }) => {
  app.addHook('onRequest', app.authenticate)
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD')

  app.get('/schools/:schoolId/events', {
    preHandler: [canRead],
    schema: {
      tags: ['attendance'], operationId: 'listEvents', params: schoolParams, querystring: eventsQuery, response: { 200: pageOf(eventSchema) },
      description: 'Teachers see their classes\' students; guards see today only',
    },
  }, async (request) => {
    const { schoolId } = request.params
    const q = request.query
    const ctx = actorContext(request)
    const school = await app.prisma.school.findUniqueOrThrow({ where: { id: schoolId }, select: { timezone: true } })
    const today = zonedInstant(localDateOf(new Date(), school.timezone), '00:00', school.timezone)
    const from = q.from ? new Date(q.from) : undefined
    const where: Prisma.AttendanceEventWhereInput = {
      schoolId,
      ...(q.studentId && { studentId: q.studentId }),
      ...(q.deviceId && { deviceId: q.deviceId }),
      ...(q.direction && { direction: q.direction }),
      ...(q.matched !== undefined && { studentId: q.matched ? (q.studentId ?? { not: null }) : null }),
      occurredAt: {
        ...((from || ctx.actor.role === 'GUARD') && { gte: ctx.actor.role === 'GUARD' && (!from || from < today) ? today : from }),
        ...(q.to && { lt: new Date(q.to) }),
      },
      AND: [await studentIdsIn(app.prisma, schoolId, await visibleClassScope(app.prisma, ctx, q.classId))],
    }
    const [rows, total] = await Promise.all([
      app.prisma.attendanceEvent.findMany({ where, select: eventColumns, orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }], skip: skip(q), take: q.pageSize }),
      app.prisma.attendanceEvent.count({ where }),
    ])
    return paged(q, { items: rows.map(toEventDto), total })
  })

  app.get('/schools/:schoolId/events/:eventId/picture', {
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')],
    schema: {
      tags: ['attendance'], operationId: 'eventPicture', params: schoolParams.extend({ eventId: z.string().regex(/^\d+$/) }),
      description: 'The picture the terminal sent with the event (kept only with EVENT_PICTURES, for EVENT_PICTURE_RETENTION_DAYS)',
      response: { 200: z.any().describe('image/jpeg') },
    },
  }, async (request, reply) => {
    const event = await app.prisma.attendanceEvent.findFirst({ where: { id: BigInt(request.params.eventId), schoolId: request.params.schoolId }, select: { picturePath: true } })
    const jpeg = event?.picturePath ? await pictures.read(event.picturePath) : null
    if (!jpeg) throw notFound('Event picture')
    return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(jpeg)
  })
}
