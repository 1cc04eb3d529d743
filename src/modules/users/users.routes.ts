import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { UsersService } from './users.service.js'
import { createUserBody, teacherClassesBody, teacherClassesSchema, updateUserBody, userListQuery, userParams, userSchema } from './users.schemas.js'

export const usersRoutes: FastifyPluginAsyncZod<{ users: UsersService }> = async (app, { users }) => {
  app.addHook('onRequest', app.authenticate)
  app.addHook('preHandler', requireSchoolAccess('SCHOOL_ADMIN'))
  const tags = ['users']

  app.get('/schools/:schoolId/users', {
    schema: { tags, operationId: 'listUsers', params: schoolParams, querystring: userListQuery, response: { 200: pageOf(userSchema) } },
  }, async (request) => {
    return paged(request.query, await users.list(request.params.schoolId, request.query))
  })

  app.post('/schools/:schoolId/users', {
    schema: { tags, operationId: 'createUser', params: schoolParams, body: createUserBody, response: { 201: userSchema } },
  }, async (request, reply) => {
    reply.status(201)
    return users.create(actorContext(request), request.params.schoolId, request.body)
  })

  app.get('/schools/:schoolId/users/:userId', {
    schema: { tags, operationId: 'getUser', params: userParams, response: { 200: userSchema } },
  }, async (request) => users.get(request.params.schoolId, request.params.userId))

  app.patch('/schools/:schoolId/users/:userId', {
    schema: { tags, operationId: 'updateUser', params: userParams, body: updateUserBody, response: { 200: userSchema } },
  }, async (request) => users.update(actorContext(request), request.params.schoolId, request.params.userId, request.body))

  app.delete('/schools/:schoolId/users/:userId', {
    schema: { tags, operationId: 'deleteUser', params: userParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await users.remove(actorContext(request), request.params.schoolId, request.params.userId)
    return reply.status(204).send(null)
  })

  app.get('/schools/:schoolId/users/:userId/classes', {
    schema: { tags, operationId: 'getTeacherClasses', summary: 'Classes assigned to a teacher', params: userParams, response: { 200: teacherClassesSchema } },
  }, async (request) => users.getTeacherClasses(request.params.schoolId, request.params.userId))

  app.put('/schools/:schoolId/users/:userId/classes', {
    schema: { tags, operationId: 'setTeacherClasses', summary: 'Replace the classes assigned to a teacher', params: userParams, body: teacherClassesBody, response: { 200: teacherClassesSchema } },
  }, async (request) => users.setTeacherClasses(actorContext(request), request.params.schoolId, request.params.userId, request.body.classIds))
}
