import { z } from 'zod'
import { optionalText, trimmed, uuid } from '../../lib/schemas.js'
import { studentFields, studentSchema } from '../students/students.schemas.js'

export const provisioningStatuses = ['PROCESSING', 'PARTIAL', 'CONFIRMED', 'FAILED'] as const
export type ProvisioningStatus = typeof provisioningStatuses[number]
export const linkStatuses = ['PENDING', 'SUCCESS', 'FAILED'] as const
export type LinkStatus = typeof linkStatuses[number]

// The upstream sends MALE / FEMALE.
const gender = z.enum(['male', 'female', 'MALE', 'FEMALE']).transform((g) => g.toLowerCase() as 'male' | 'female')

const provisionStudent = z.object({
  firstName: trimmed(100).optional(),
  lastName: trimmed(100).optional(),
  name: trimmed(201).optional().describe('"Last First": used for lastName and firstName when those are not given'),
  fatherName: optionalText(100),
  gender: gender.optional().describe('Required for a new student'),
  classId: uuid.nullish(),
  parentPhone: studentFields.parentPhone,
  deviceStudentId: z.string().trim().max(64).nullish()
    .describe('The employeeNo. An existing student keeps its own (a different one is a 400); for a new one a free number from 1 to 999999999 is taken, anything else (the desktop\'s 10-digit ids) is replaced by the school\'s next number — the answer says which'),
  faceImageBase64: z.string().min(1).nullish().describe('The face photo as base64 (or a data: URL); stored as PUT …/photo does'),
})
export type ProvisionStudent = z.infer<typeof provisionStudent>

export const provisionBody = provisionStudent.extend({
  student: provisionStudent.optional().describe('The student\'s fields; they are also accepted at the top level'),
  studentId: uuid.optional().describe('Update this student instead of creating one'),
  requestId: z.string().trim().min(1).max(200).optional().describe('Makes the start idempotent: a repeat answers the earlier provisioning'),
  targetDeviceIds: z.array(uuid).max(500).optional().describe('Our device ids; [] saves to the database only'),
  targetAllActive: z.boolean().default(true).describe('Without targetDeviceIds: every device of the school (true) or none'),
  allowDuplicateName: z.boolean().default(false),
})
export type ProvisionBody = z.infer<typeof provisionBody>

const targetDevice = z.object({ id: z.uuid(), deviceId: z.string().nullable().describe('The terminal\'s own (Hikvision) id'), name: z.string() })

export const provisionAnswer = z.object({
  student: studentSchema,
  studentId: z.uuid(),
  provisioningId: z.uuid().describe('Also the id of the job doing the work (GET /jobs/{id})'),
  deviceStudentId: z.string().describe('The employeeNo the terminals get'),
  provisioningStatus: z.enum(provisioningStatuses),
  targetDevices: z.array(targetDevice),
}).meta({ id: 'ProvisionAnswer' })

export const provisioningLink = z.object({
  id: z.string(),
  provisioningId: z.uuid(),
  studentId: z.uuid().nullable(),
  deviceId: z.uuid(),
  status: z.enum(linkStatuses),
  employeeNoOnDevice: z.string().nullable(),
  attemptCount: z.number().int(),
  lastError: z.string().nullable(),
  errorCode: z.string().nullable(),
  step: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  device: z.object({ id: z.uuid(), name: z.string(), deviceId: z.string().nullable(), location: z.string().nullable(), direction: z.string() }),
})

export const provisioningSchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  studentId: z.uuid().nullable(),
  requestId: z.string().nullable(),
  status: z.enum(provisioningStatuses),
  jobStatus: z.string(),
  lastError: z.string().nullable(),
  retryCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  student: studentSchema.nullable(),
  devices: z.array(provisioningLink),
}).meta({ id: 'Provisioning' })

export const provisioningLog = z.object({
  id: z.string(),
  provisioningId: z.uuid(),
  studentId: z.uuid().nullable(),
  deviceId: z.uuid().nullable(),
  level: z.enum(['INFO', 'WARN', 'ERROR']),
  stage: z.string().describe('PROVISIONING_START, PROVISIONING_RETRY, PROVISIONING_CANCEL, DEVICE_RESULT (reported by a client), DEVICE_CONNECTION (the device could not be used) or DEVICE_SYNC / DEVICE_USER / DEVICE_FACE for the server\'s own writes'),
  status: z.string().nullable(),
  message: z.string().nullable(),
  actorId: z.uuid().nullable(),
  createdAt: z.string(),
}).meta({ id: 'ProvisioningLog' })

export const deviceResultBody = z.object({
  deviceId: uuid.optional().describe('Our device id'),
  deviceExternalId: z.string().trim().min(1).max(100).optional().describe('The terminal\'s own (Hikvision) deviceId'),
  deviceName: z.string().trim().min(1).max(200).optional().describe('Used only when neither id finds the device; must be unique in the school'),
  deviceType: z.string().max(50).optional(),
  deviceLocation: z.string().max(200).optional(),
  status: z.enum(['SUCCESS', 'FAILED']),
  employeeNoOnDevice: z.string().trim().max(64).optional(),
  error: z.string().max(1000).optional(),
}).refine((b) => b.deviceId ?? b.deviceExternalId ?? b.deviceName, { path: ['deviceId'], message: 'name the device with deviceId, deviceExternalId or deviceName' })
export type DeviceResultBody = z.infer<typeof deviceResultBody>

export const deviceResultAnswer = z.object({ ok: z.literal(true), provisioningStatus: z.enum(provisioningStatuses), deviceStatus: z.enum(linkStatuses) })

export const provisioningRetryBody = z.object({
  deviceIds: z.array(uuid).min(1).max(500).optional(),
  deviceExternalIds: z.array(z.string().trim().min(1).max(100)).min(1).max(500).optional(),
}).default({}).describe('Default: every failed device')
export type ProvisioningRetryBody = z.infer<typeof provisioningRetryBody>

export const provisioningRetryAnswer = z.object({
  ok: z.literal(true),
  updated: z.number().int().describe('Failed items put back in the queue'),
  targetDeviceIds: z.array(z.uuid()),
  provisioningStatus: z.enum(provisioningStatuses),
})

export const provisioningParams = z.object({ id: uuid })
