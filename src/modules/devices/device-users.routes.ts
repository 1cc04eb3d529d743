import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { DeviceUsersService } from './device-users.service.js'
import {
  deleteDeviceUserQuery, deviceUserParams, deviceUserSchema, deviceUsersQuery, deviceUserUpdateResult, updateDeviceUserBody,
} from './device-users.schemas.js'
import { deviceParams } from './devices.schemas.js'

/** The people stored on a terminal, read and edited live over ISAPI. */
export const deviceUsersRoutes: FastifyPluginAsyncZod<{ deviceUsers: DeviceUsersService }> = async (app, { deviceUsers }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['device users']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')
  const base = '/schools/:schoolId/devices/:deviceId/users'

  app.get(base, {
    preHandler: [canRead],
    schema: { tags, operationId: 'listDeviceUsers', params: deviceParams, querystring: deviceUsersQuery, response: { 200: pageOf(deviceUserSchema) } },
  }, async (request) => {
    const { schoolId, deviceId } = request.params
    return paged(request.query, await deviceUsers.list(schoolId, deviceId, request.query))
  })

  app.get(`${base}/:employeeNo`, {
    preHandler: [canRead],
    schema: { tags, operationId: 'getDeviceUser', params: deviceUserParams, response: { 200: deviceUserSchema } },
  }, async (request) => {
    const { schoolId, deviceId, employeeNo } = request.params
    return deviceUsers.get(schoolId, deviceId, employeeNo)
  })

  app.get(`${base}/:employeeNo/face`, {
    preHandler: [canRead],
    schema: {
      tags, operationId: 'getDeviceUserFace', params: deviceUserParams,
      description: 'The face JPEG as stored on the terminal, fetched live',
      response: { 200: z.any().describe('image/jpeg') },
    },
  }, async (request, reply) => {
    const { schoolId, deviceId, employeeNo } = request.params
    const jpeg = await deviceUsers.face(schoolId, deviceId, employeeNo)
    return reply.type('image/jpeg').header('cache-control', 'private, no-store').send(jpeg)
  })

  app.patch(`${base}/:employeeNo`, {
    preHandler: [canWrite],
    schema: { tags, operationId: 'updateDeviceUser', params: deviceUserParams, body: updateDeviceUserBody, response: { 200: deviceUserUpdateResult } },
  }, async (request) => {
    const { schoolId, deviceId, employeeNo } = request.params
    return deviceUsers.update(actorContext(request), schoolId, deviceId, employeeNo, request.body)
  })

  app.delete(`${base}/:employeeNo`, {
    preHandler: [canWrite],
    schema: { tags, operationId: 'deleteDeviceUser', params: deviceUserParams, querystring: deleteDeviceUserQuery, response: { 204: z.null() } },
  }, async (request, reply) => {
    const { schoolId, deviceId, employeeNo } = request.params
    await deviceUsers.remove(actorContext(request), schoolId, deviceId, employeeNo, request.query.confirm)
    return reply.status(204).send(null)
  })
}
