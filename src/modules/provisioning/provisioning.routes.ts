import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { idempotent } from '../../lib/idempotency.js'
import { schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { ProvisioningService } from './provisioning.service.js'
import {
  deviceResultAnswer, deviceResultBody, provisionAnswer, provisionBody, provisioningLog, provisioningParams, provisioningRetryAnswer,
  provisioningRetryBody, provisioningSchema,
} from './provisioning.schemas.js'

/** The upstream's provisioning API, run by our jobs: the provisioning id is the job id. */
export const provisioningRoutes: FastifyPluginAsyncZod<{ provisioning: ProvisioningService }> = async (app, { provisioning }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['provisioning']

  app.post('/schools/:schoolId/students/provision', {
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER')],
    schema: {
      tags, operationId: 'provisionStudent', params: schoolParams, body: provisionBody, response: { 200: provisionAnswer, 201: provisionAnswer },
      description: 'Creates or updates the student, stores its face and starts a job (type provision) writing it to the target devices. ' +
        'A repeated requestId answers 200 with the earlier provisioning. Teachers provision students of their own classes. Accepts Idempotency-Key.',
    },
  }, async (request, reply) => {
    const result = await idempotent(app.prisma, request, () => provisioning.start(actorContext(request), request.params.schoolId, request.body))
    return reply.status(result.statusCode === 200 ? 200 : 201).send(result.body)
  })

  app.get('/provisioning/:id', {
    schema: { tags, operationId: 'getProvisioning', params: provisioningParams, response: { 200: provisioningSchema } },
  }, async (request) => provisioning.get(actorContext(request), request.params.id))

  app.get('/provisioning/:id/logs', {
    schema: { tags, operationId: 'provisioningLogs', params: provisioningParams, response: { 200: z.array(provisioningLog) }, description: 'The newest 200 events, newest first' },
  }, async (request) => provisioning.logs(actorContext(request), request.params.id))

  app.post('/provisioning/:id/device-result', {
    schema: {
      tags, operationId: 'provisioningDeviceResult', params: provisioningParams, body: deviceResultBody, response: { 200: deviceResultAnswer },
      description: 'For clients that wrote to a terminal themselves: records that device\'s result and the person-on-device state. Accepts Idempotency-Key.',
    },
  }, async (request, reply) => {
    const result = await idempotent(app.prisma, request, async () =>
      ({ statusCode: 200, body: await provisioning.deviceResult(actorContext(request), request.params.id, request.body) }))
    return reply.status(200).send(result.body)
  })

  app.post('/provisioning/:id/retry', {
    schema: {
      tags, operationId: 'retryProvisioning', params: provisioningParams, body: provisioningRetryBody, response: { 200: provisioningRetryAnswer },
      description: 'Writes the failed devices again (all of them, or those named). 409 JOB_RUNNING while the job runs, NOTHING_TO_RETRY when none failed. Accepts Idempotency-Key.',
    },
  }, async (request, reply) => {
    const result = await idempotent(app.prisma, request, async () =>
      ({ statusCode: 200, body: await provisioning.retry(actorContext(request), request.params.id, request.body) }))
    return reply.status(200).send(result.body)
  })
}
