import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Prisma } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { notFound } from '../../lib/errors.js'
import { pageOf, pageQuery, schoolParams, skip, uuid } from '../../lib/schemas.js'
import { localDateOf, zonedInstant } from '../../lib/timezone.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { visibleClassScope } from '../classes/classes.service.js'
import type { EventPictures } from '../webhook/webhook.pictures.js'

const eventsQuery = pageQuery.extend({
  studentId: uuid.optional(),
  classId: uuid.optional(),
  deviceId: uuid.optional(),
  direction: z.enum(['in', 'out']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  matched: z.stringbool().optional().describe('true: events of a known student; false: unknown employeeNo or sender'),
})

const eventSchema = z.object({
  id: z.string(),
  deviceId: z.uuid().nullable(),
  studentId: z.uuid().nullable(),
  employeeNo: z.string().nullable(),
  direction: z.enum(['in', 'out', 'both']),
  occurredAt: z.string().describe('ISO instant'),
  serialNo: z.number().int().nullable(),
  major: z.number().int(),
  minor: z.number().int(),
  kind: z.string(),
  countsForAttendance: z.boolean(),
  matched: z.boolean(),
  source: z.string(),
}).meta({ id: 'AttendanceEvent' })

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
    // Teachers: only their classes' students (a class of theirs, if they name one).
    const classIds = await visibleClassScope(app.prisma, ctx, q.classId)
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
    }
    if (classIds) {
      // Events have no relation to students, so the scope becomes the list of their ids; unmatched events are no class's.
      const ids = q.matched === false ? [] : (await app.prisma.student.findMany({ where: { schoolId, classId: { in: classIds } }, select: { id: true } })).map((s) => s.id)
      where.studentId = q.studentId ? (ids.includes(q.studentId) ? q.studentId : { in: [] }) : { in: ids }
    }
    const [rows, total] = await Promise.all([
      app.prisma.attendanceEvent.findMany({ where, orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }], skip: skip(q), take: q.pageSize }),
      app.prisma.attendanceEvent.count({ where }),
    ])
    return {
      items: rows.map((e) => ({
        id: String(e.id), deviceId: e.deviceId, studentId: e.studentId, employeeNo: e.employeeNo, direction: e.direction,
        occurredAt: e.occurredAt.toISOString(), serialNo: e.serialNo, major: e.major, minor: e.minor, kind: e.kind,
        countsForAttendance: e.countsForAttendance, matched: e.studentId !== null, source: e.source,
      })),
      total, page: q.page, pageSize: q.pageSize,
    }
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
