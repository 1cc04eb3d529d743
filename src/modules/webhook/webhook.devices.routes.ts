import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Device } from '../../generated/prisma/client.js'
import { actorContext } from '../../lib/context.js'
import { conflict } from '../../lib/errors.js'
import { schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { deviceParams } from '../devices/devices.schemas.js'
import type { DevicesService } from '../devices/devices.service.js'
import type { Backfill } from './webhook.backfill.js'
import { toBackfillRunDto, type deviceEventHealth } from './webhook.health.js'
import type { PushSetup } from './webhook.push-setup.js'
import { backfillRun, configurePushBody, configurePushResult, deviceHealth, pushStatus, webhookTestBody, webhookTestResult } from './webhook.schemas.js'
import type { WebhookSelfTest } from './webhook.selftest.js'

export interface DeviceFeedRoutesOptions {
  devices: Pick<DevicesService, 'mustFind'>
  backfill: Pick<Backfill, 'runDevice'>
  pushSetup: PushSetup
  selfTest: WebhookSelfTest
  health: (device: Device) => ReturnType<typeof deviceEventHealth>
}

/** A terminal's event feed: push set-up and status, back-fill on demand, health; and the webhook self-test. */
export const deviceFeedRoutes: FastifyPluginAsyncZod<DeviceFeedRoutesOptions> = async (app, o) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['webhook']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'GUARD')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')
  const device = (p: { schoolId: string, deviceId: string }) => o.devices.mustFind(p.schoolId, p.deviceId)

  app.post('/schools/:schoolId/devices/:deviceId/backfill', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'backfillDevice', params: deviceParams, response: { 200: backfillRun },
      description: 'Reads the terminal\'s event log from the last serial stored here and inserts what is missing (deduplicated against pushed events)',
    },
  }, async (request) => {
    await device(request.params)
    const result = await o.backfill.runDevice(request.params.deviceId, 'manual')
    if (result.status === 'skipped') throw conflict('DEVICE_IN_USE', 'Another operation is talking to this device; try again shortly')
    if (result.status === 'failed') throw result.error
    return toBackfillRunDto(result)
  })

  app.get('/schools/:schoolId/devices/:deviceId/health', {
    preHandler: [canRead],
    schema: { tags, operationId: 'deviceEventHealth', params: deviceParams, response: { 200: deviceHealth } },
  }, async (request) => o.health(await device(request.params)))

  app.post('/schools/:schoolId/devices/:deviceId/configure-push', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'configureDevicePush', params: deviceParams, body: configurePushBody, response: { 200: configurePushResult },
      description: 'Writes one httpHosts slot of the terminal with this server\'s webhook URL (from PUBLIC_BASE_URL); the other slots are kept',
    },
  }, async (request) => o.pushSetup.configurePush(actorContext(request), await device(request.params), request.body.slotId))

  app.get('/schools/:schoolId/devices/:deviceId/push-status', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'devicePushStatus', params: deviceParams, response: { 200: pushStatus } },
  }, async (request) => o.pushSetup.pushStatus(await device(request.params)))

  app.post('/schools/:schoolId/webhook/test', {
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN')],
    schema: {
      tags, operationId: 'testWebhook', params: schoolParams, body: webhookTestBody, response: { 200: webhookTestResult },
      description: 'Posts a sample face pass through the whole intake with the current secret, reports what happened, then removes it',
    },
  }, async (request) => o.selfTest.run(request.params.schoolId, request.body))
}
