import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { okResponse, pageOf, paged, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { streamCsv, streamXlsx } from './attendance.export.js'
import {
  attendanceListQuery, bulkBody, dayRecordSchema, exportQuery, manualBody, manualParams, statsQuery, statsSchema, todaySchema,
} from './attendance.schemas.js'
import type { AttendanceService } from './attendance.service.js'

export const attendanceRoutes: FastifyPluginAsyncZod<{ attendance: AttendanceService }> = async (app, { attendance }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['attendance']
  const staff = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER')
  const withGuards = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD')

  app.get('/schools/:schoolId/attendance/today', {
    preHandler: [withGuards],
    schema: { tags, operationId: 'attendanceToday', params: schoolParams, response: { 200: todaySchema } },
  }, async (request) => attendance.today(actorContext(request), request.params.schoolId))

  app.get('/schools/:schoolId/attendance', {
    preHandler: [staff],
    schema: { tags, operationId: 'listAttendance', params: schoolParams, querystring: attendanceListQuery, response: { 200: pageOf(dayRecordSchema) } },
  }, async (request) => {
    return paged(request.query, await attendance.list(actorContext(request), request.params.schoolId, request.query))
  })

  app.get('/schools/:schoolId/attendance/stats', {
    preHandler: [staff],
    schema: { tags, operationId: 'attendanceStats', params: schoolParams, querystring: statsQuery, response: { 200: statsSchema } },
  }, async (request) => attendance.stats(actorContext(request), request.params.schoolId, request.query))

  app.get('/schools/:schoolId/attendance/export', {
    preHandler: [staff],
    schema: {
      tags, operationId: 'exportAttendance', params: schoolParams, querystring: exportQuery,
      description: 'CSV or Excel, streamed page by page', response: { 200: z.any().describe('text/csv or xlsx') },
    },
  }, async (request, reply) => {
    const filter = await attendance.exportFilter(actorContext(request), request.params.schoolId, request.query)
    const { from, to } = filter
    const xlsx = request.query.format === 'xlsx'
    reply.hijack()
    reply.raw.writeHead(200, {
      'content-type': xlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="attendance-${from}-${to}.${xlsx ? 'xlsx' : 'csv'}"`,
    })
    try {
      await (xlsx ? streamXlsx : streamCsv)(app.prisma, reply.raw, filter)
    } catch (err) {
      request.log.error({ err }, 'attendance export failed midway')
      reply.raw.destroy(err as Error)
    }
  })

  app.put('/schools/:schoolId/attendance/:studentId/:date', {
    preHandler: [staff],
    schema: { tags, operationId: 'setAttendance', params: manualParams, body: manualBody, response: { 200: dayRecordSchema } },
  }, async (request) => {
    const { schoolId, studentId, date } = request.params
    return attendance.setManual(actorContext(request), schoolId, studentId, date, request.body.status, request.body.note)
  })

  app.post('/schools/:schoolId/attendance/bulk', {
    preHandler: [staff],
    schema: { tags, operationId: 'bulkSetAttendance', params: schoolParams, body: bulkBody, response: { 200: okResponse.extend({ updated: z.number().int() }) } },
  }, async (request) => {
    const { date, studentIds, status, note } = request.body
    const updated = await attendance.setManualBulk(actorContext(request), request.params.schoolId, studentIds, date, status, note)
    return { ok: true as const, updated }
  })
}
