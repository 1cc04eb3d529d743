import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { HolidaysService } from './holidays.service.js'
import { holidayBody, holidayListQuery, holidayParams, holidaySchema, updateHolidayBody } from './holidays.schemas.js'

export const holidaysRoutes: FastifyPluginAsyncZod<{ holidays: HolidaysService }> = async (app, { holidays }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['holidays']
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN')

  app.get('/schools/:schoolId/holidays', {
    preHandler: [requireSchoolAccess()],
    schema: { tags, operationId: 'listHolidays', params: schoolParams, querystring: holidayListQuery, response: { 200: pageOf(holidaySchema) } },
  }, async (request) => {
    return paged(request.query, await holidays.list(request.params.schoolId, request.query))
  })

  app.post('/schools/:schoolId/holidays', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'createHoliday', params: schoolParams, body: holidayBody, response: { 201: holidaySchema } },
  }, async (request, reply) => {
    reply.status(201)
    return holidays.create(actorContext(request), request.params.schoolId, request.body)
  })

  app.patch('/schools/:schoolId/holidays/:holidayId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'updateHoliday', params: holidayParams, body: updateHolidayBody, response: { 200: holidaySchema } },
  }, async (request) => holidays.update(actorContext(request), request.params.schoolId, request.params.holidayId, request.body))

  app.delete('/schools/:schoolId/holidays/:holidayId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'deleteHoliday', params: holidayParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await holidays.remove(actorContext(request), request.params.schoolId, request.params.holidayId)
    return reply.status(204).send(null)
  })
}
