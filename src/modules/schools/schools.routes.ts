import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged, pageQuery, schoolParams } from '../../lib/schemas.js'
import { requireRole, requireSchoolAccess } from '../../plugins/auth.js'
import type { SchoolsService } from './schools.service.js'
import { createSchoolBody, schoolSchema, updateSchoolBody } from './schools.schemas.js'

export const schoolsRoutes: FastifyPluginAsyncZod<{ schools: SchoolsService }> = async (app, { schools }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['schools']

  app.get('/schools', {
    schema: { tags, operationId: 'listSchools', summary: 'Schools visible to the caller', querystring: pageQuery, response: { 200: pageOf(schoolSchema) } },
  }, async (request) => {
    return paged(request.query, await schools.list(actorContext(request), request.query))
  })

  app.post('/schools', {
    preHandler: [requireRole('SUPER_ADMIN')],
    schema: { tags, operationId: 'createSchool', body: createSchoolBody, response: { 201: schoolSchema } },
  }, async (request, reply) => {
    reply.status(201)
    return schools.create(actorContext(request), request.body)
  })

  app.get('/schools/:schoolId', {
    preHandler: [requireSchoolAccess()],
    schema: { tags, operationId: 'getSchool', params: schoolParams, response: { 200: schoolSchema } },
  }, async (request) => schools.get(request.params.schoolId))

  app.patch('/schools/:schoolId', {
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN')],
    schema: { tags, operationId: 'updateSchool', params: schoolParams, body: updateSchoolBody, response: { 200: schoolSchema } },
  }, async (request) => schools.update(actorContext(request), request.params.schoolId, request.body))

  app.delete('/schools/:schoolId', {
    preHandler: [requireSchoolAccess(), requireRole('SUPER_ADMIN')],
    schema: { tags, operationId: 'deleteSchool', summary: 'Soft-delete a school', params: schoolParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await schools.remove(actorContext(request), request.params.schoolId)
    return reply.status(204).send(null)
  })
}
