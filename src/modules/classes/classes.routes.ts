import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged, pageQuery, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { ClassesService } from './classes.service.js'
import { classParams, classSchema, createClassBody, updateClassBody } from './classes.schemas.js'

export const classesRoutes: FastifyPluginAsyncZod<{ classes: ClassesService }> = async (app, { classes }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['classes']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN')

  app.get('/schools/:schoolId/classes', {
    preHandler: [canRead],
    schema: { tags, operationId: 'listClasses', summary: 'Classes of a school (teachers: their own)', params: schoolParams, querystring: pageQuery, response: { 200: pageOf(classSchema) } },
  }, async (request) => {
    return paged(request.query, await classes.list(actorContext(request), request.params.schoolId, request.query))
  })

  app.post('/schools/:schoolId/classes', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'createClass', params: schoolParams, body: createClassBody, response: { 201: classSchema } },
  }, async (request, reply) => {
    reply.status(201)
    return classes.create(actorContext(request), request.params.schoolId, request.body)
  })

  app.get('/schools/:schoolId/classes/:classId', {
    preHandler: [canRead],
    schema: { tags, operationId: 'getClass', params: classParams, response: { 200: classSchema } },
  }, async (request) => classes.get(actorContext(request), request.params.schoolId, request.params.classId))

  app.patch('/schools/:schoolId/classes/:classId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'updateClass', params: classParams, body: updateClassBody, response: { 200: classSchema } },
  }, async (request) => classes.update(actorContext(request), request.params.schoolId, request.params.classId, request.body))

  app.delete('/schools/:schoolId/classes/:classId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'deleteClass', params: classParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await classes.remove(actorContext(request), request.params.schoolId, request.params.classId)
    return reply.status(204).send(null)
  })
}
