import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { pageOf, paged, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { toDeviceDto } from './devices.mapper.js'
import type { DeviceConnectionService } from './devices.connection.js'
import type { DevicesService } from './devices.service.js'
import { connectionTestResult, createDeviceBody, deviceListQuery, deviceParams, deviceSchema, updateDeviceBody } from './devices.schemas.js'

export const devicesRoutes: FastifyPluginAsyncZod<{ devices: DevicesService, connection: DeviceConnectionService }> = async (app, { devices, connection }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['devices']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'GUARD')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')

  app.get('/schools/:schoolId/devices', {
    preHandler: [canRead],
    schema: { tags, operationId: 'listDevices', params: schoolParams, querystring: deviceListQuery, response: { 200: pageOf(deviceSchema) } },
  }, async (request) => {
    return paged(request.query, await devices.list(request.params.schoolId, request.query))
  })

  app.post('/schools/:schoolId/devices', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'createDevice', params: schoolParams, body: createDeviceBody, response: { 201: deviceSchema } },
  }, async (request, reply) => {
    reply.status(201)
    return devices.create(actorContext(request), request.params.schoolId, request.body)
  })

  app.get('/schools/:schoolId/devices/:deviceId', {
    preHandler: [canRead],
    schema: { tags, operationId: 'getDevice', params: deviceParams, response: { 200: deviceSchema } },
  }, async (request) => toDeviceDto(await devices.mustFind(request.params.schoolId, request.params.deviceId)))

  app.patch('/schools/:schoolId/devices/:deviceId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'updateDevice', params: deviceParams, body: updateDeviceBody, response: { 200: deviceSchema } },
  }, async (request) => devices.update(actorContext(request), request.params.schoolId, request.params.deviceId, request.body))

  app.delete('/schools/:schoolId/devices/:deviceId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'deleteDevice', params: deviceParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await devices.remove(actorContext(request), request.params.schoolId, request.params.deviceId)
    return reply.status(204).send(null)
  })

  app.post('/schools/:schoolId/devices/:deviceId/test-connection', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'testDeviceConnection', params: deviceParams, response: { 200: connectionTestResult },
      description: 'Reads deviceInfo and the capability documents; stores serial, MAC, model, firmware, capabilities and the discovered deviceId',
    },
  }, async (request) => connection.testConnection(actorContext(request), request.params.schoolId, request.params.deviceId))
}
