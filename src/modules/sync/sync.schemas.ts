import { z } from 'zod'
import { pageOf, pageQuery, uuid } from '../../lib/schemas.js'
import { deviceParams } from '../devices/devices.schemas.js'

export const jobStatuses = ['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled'] as const
export const jobTypes = ['sync', 'clone_database', 'clone_device', 'remove', 'provision', 'drift_repair'] as const
const itemStatuses = ['pending', 'success', 'failed', 'skipped', 'cancelled'] as const

const ids = z.array(uuid).min(1).max(10_000)

export const syncBody = z.object({
  studentIds: ids.optional().describe('Default: every active student of the school (and removal of deactivated ones)'),
  deviceIds: ids.optional().describe('Default: every device of the school'),
  photosOnly: z.boolean().default(false).describe('Send only faces (creating the person where missing)'),
  full: z.boolean().default(false).describe('Resend everything, not only what changed since the last sync'),
})
export type SyncBody = z.infer<typeof syncBody>

export const cloneBody = z.union([
  z.object({ from: z.literal('database') }).strict(),
  z.object({ fromDeviceId: uuid }).strict(),
]).describe('{ "from": "database" } pushes every active student; { "fromDeviceId" } copies users and faces from another terminal')

export const driftRepairBody = z.object({
  removeExtra: z.boolean().default(false).describe('Also delete users on the terminal that are no students of this school'),
}).default({ removeExtra: false })

export const jobAccepted = z.object({ jobId: z.uuid() }).meta({ id: 'JobAccepted' })

export const jobSchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  type: z.string(),
  status: z.enum(jobStatuses),
  params: z.record(z.string(), z.unknown()),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  counts: z.object({ success: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  retryCount: z.number().int(),
  lastError: z.string().nullable(),
  createdBy: z.object({ id: z.uuid(), email: z.string().nullable() }).nullable(),
  cancelledAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Job' })

export const jobDeviceSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  status: z.enum(jobStatuses),
  error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
  counts: z.object({ pending: z.number().int(), success: z.number().int(), failed: z.number().int(), skipped: z.number().int(), cancelled: z.number().int() }),
})

export const jobDetailSchema = jobSchema.extend({ devices: z.array(jobDeviceSchema) }).meta({ id: 'JobDetail' })

export const jobItemSchema = z.object({
  id: z.string(),
  deviceId: z.uuid(),
  studentId: z.uuid().nullable(),
  employeeNo: z.string(),
  action: z.string(),
  status: z.enum(itemStatuses),
  step: z.string().nullable().describe('Where it failed: user, face, delete, disable, read, copy or device'),
  error: z.object({ code: z.string().nullable(), message: z.string().nullable() }).nullable(),
  note: z.string().nullable().describe('Why it was skipped'),
  attempts: z.number().int(),
  finishedAt: z.string().nullable(),
}).meta({ id: 'JobItem' })

export const jobParams = z.object({ jobId: uuid })
export const jobListQuery = pageQuery.extend({
  schoolId: uuid.optional(),
  status: z.enum(jobStatuses).optional(),
  type: z.enum(jobTypes).optional(),
})
export type JobListQuery = z.infer<typeof jobListQuery>
export const jobItemsQuery = pageQuery.extend({ status: z.enum(itemStatuses).optional(), deviceId: uuid.optional() })
export type JobItemsQuery = z.infer<typeof jobItemsQuery>
export const jobRetryBody = z.object({ deviceIds: ids.optional() }).default({})

export const jobPage = pageOf(jobSchema)
export const jobItemPage = pageOf(jobItemSchema)
export { deviceParams }
