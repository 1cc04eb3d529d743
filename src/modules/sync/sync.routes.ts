import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { badRequest } from '../../lib/errors.js'
import { idempotent } from '../../lib/idempotency.js'
import { schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { DevicesService } from '../devices/devices.service.js'
import type { DriftService } from './sync.drift.js'
import type { JobsService } from './sync.jobs.js'
import { studentParams } from '../students/students.schemas.js'
import { cloneBody, deviceParams, driftRepairBody, jobAccepted, syncBody } from './sync.schemas.js'

const driftPerson = z.object({ studentId: z.uuid(), employeeNo: z.string(), name: z.string() })
const driftReport = z.object({
  deviceId: z.uuid(),
  checkedAt: z.string(),
  inSync: z.boolean(),
  counts: z.object({ onDevice: z.number().int(), students: z.number().int(), missing: z.number().int(), extra: z.number().int(), outdated: z.number().int() }),
  missing: z.array(driftPerson),
  extra: z.array(z.object({ employeeNo: z.string(), name: z.string(), hasFace: z.boolean().nullable() })),
  outdated: z.array(driftPerson.extend({ reasons: z.array(z.string()) })),
}).meta({ id: 'DriftReport' })

const personOnDevice = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  state: z.enum(['pending', 'synced', 'failed', 'removed']).describe('pending: the device holds an older version of the person'),
  syncedVersion: z.number().int().nullable().describe('The version of the person the device got last'),
  currentVersion: z.number().int(),
  faceOnDevice: z.boolean(),
  lastError: z.string().nullable(),
  attempts: z.number().int().describe('Failed attempts since the last success'),
  syncedAt: z.string().nullable(),
}).meta({ id: 'PersonOnDevice' })

/** Starting sync work for a school: everything here answers 202 with a job to follow. */
export const syncRoutes: FastifyPluginAsyncZod<{ jobs: JobsService, drift: DriftService, devices: DevicesService }> = async (app, { jobs, drift, devices }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['sync']
  const canSync = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')

  app.post('/schools/:schoolId/sync', {
    preHandler: [canSync],
    schema: {
      tags, operationId: 'syncSchool', params: schoolParams, body: syncBody, response: { 202: jobAccepted },
      description: 'Pushes students (default: all active ones, incrementally) to devices (default: all); deactivated students are removed. Accepts Idempotency-Key.',
    },
  }, async (request, reply) => {
    const { schoolId } = request.params
    const { studentIds, deviceIds, photosOnly, full } = request.body
    const result = await idempotent(app.prisma, request, async () => {
      const targets = await jobs.resolveDevices(app.prisma, schoolId, deviceIds)
      const job = await jobs.start(actorContext(request), {
        type: 'sync', schoolId, deviceIds: targets, studentIds: studentIds ?? null, action: photosOnly ? 'face' : 'upsert',
        params: { studentIds: studentIds ?? null, deviceIds: targets, photosOnly, full },
      })
      return { statusCode: 202, body: { jobId: job.id } }
    })
    return reply.status(202).send(result.body)
  })

  app.post('/schools/:schoolId/devices/:deviceId/clone', {
    preHandler: [canSync],
    schema: { tags, operationId: 'cloneToDevice', params: deviceParams, body: cloneBody, response: { 202: jobAccepted }, description: 'Accepts Idempotency-Key.' },
  }, async (request, reply) => {
    const { schoolId, deviceId } = request.params
    const body = request.body
    const result = await idempotent(app.prisma, request, async () => {
      await devices.mustFind(schoolId, deviceId)
      const ctx = actorContext(request)
      const job = 'fromDeviceId' in body
        ? await (async () => {
          await devices.mustFind(schoolId, body.fromDeviceId)
          if (body.fromDeviceId === deviceId) throw badRequest('CLONE_SAME_DEVICE', 'A device cannot be cloned onto itself')
          return jobs.start(ctx, { type: 'clone_device', schoolId, deviceIds: [deviceId], params: { fromDeviceId: body.fromDeviceId } })
        })()
        : await jobs.start(ctx, { type: 'clone_database', schoolId, deviceIds: [deviceId], studentIds: null, params: { from: 'database', full: true } })
      return { statusCode: 202, body: { jobId: job.id } }
    })
    return reply.status(202).send(result.body)
  })

  app.get('/schools/:schoolId/students/:studentId/devices', {
    preHandler: [canSync],
    schema: {
      tags, operationId: 'studentOnDevices', params: studentParams, response: { 200: z.object({ items: z.array(personOnDevice) }) },
      description: 'Where the student is: its state on each device it was ever sent to',
    },
  }, async (request) => ({ items: await jobs.personOnDevices(request.params.schoolId, request.params.studentId) }))

  app.get('/schools/:schoolId/devices/:deviceId/drift', {
    preHandler: [canSync],
    schema: { tags, operationId: 'deviceDrift', params: deviceParams, response: { 200: driftReport } },
  }, async (request) => drift.check(request.params.schoolId, request.params.deviceId))

  app.post('/schools/:schoolId/devices/:deviceId/drift/repair', {
    preHandler: [canSync],
    schema: {
      tags, operationId: 'repairDeviceDrift', params: deviceParams, body: driftRepairBody,
      response: { 202: jobAccepted.extend({ drift: driftReport.shape.counts }) },
    },
  }, async (request, reply) => {
    const { schoolId, deviceId } = request.params
    const result = await idempotent(app.prisma, request, async () =>
      ({ statusCode: 202, body: await drift.repair(actorContext(request), schoolId, deviceId, request.body) }))
    return reply.status(202).send(result.body)
  })
}
