import { z } from 'zod'
import { optionalText, pageQuery, trimmed, uuid } from '../../lib/schemas.js'
import { jobStatuses } from '../sync/sync.schemas.js'

export const employeeNo = z.string().regex(/^[1-9]\d{0,8}$/, 'must be a number from 1 to 999999999, without leading zeros')

export const studentFields = {
  firstName: trimmed(100),
  lastName: trimmed(100),
  fatherName: optionalText(100),
  gender: z.enum(['male', 'female']),
  classId: uuid.nullish(),
  parentPhone: z.string().trim().regex(/^\+?[0-9 ()-]{5,20}$/, 'must be a phone number').nullish().or(z.literal('').transform(() => null)),
  status: z.enum(['active', 'inactive']),
}

const allowDuplicateName = z.boolean().default(false).describe('Save even if the class already has a student with this first and last name')

export const syncModes = ['none', 'current', 'all', 'selected'] as const
export type SyncMode = typeof syncModes[number]

const syncFields = {
  syncMode: z.enum(syncModes).optional().describe(
    'Where the saved student goes: none; current (the one device in targetDeviceIds); all (every device of the school); selected (targetDeviceIds). ' +
    'Default: selected when targetDeviceIds is given, else all when the save changed something a terminal stores (new student, name, gender, status), else none'),
  targetDeviceIds: z.array(uuid).min(1).max(500).optional().describe('The devices for selected (one or more) and current (exactly one)'),
  wait: z.boolean().optional().describe('Wait (at most SYNC_WAIT_SECONDS) for the devices and answer their results'),
  atomic: z.boolean().optional().describe('All or nothing (implies wait): when a device fails, the devices that took the change and the database change are undone'),
}

/** targetDeviceIds belongs to selected and current only; current names exactly one device. */
function checkTargets (v: { syncMode?: SyncMode, targetDeviceIds?: string[] }, ctx: z.RefinementCtx) {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['targetDeviceIds'], message })
  if (v.syncMode === 'selected' && !v.targetDeviceIds) issue('is required for syncMode selected')
  if (v.syncMode === 'current' && v.targetDeviceIds?.length !== 1) issue('must name exactly one device for syncMode current')
  if ((v.syncMode === 'none' || v.syncMode === 'all') && v.targetDeviceIds) issue(`is only for syncMode selected or current, not ${v.syncMode}`)
}

export const createStudentFields = z.object({
  ...studentFields,
  status: studentFields.status.default('active'),
  employeeNo: employeeNo.optional().describe('Only for imports: a free number to use instead of the next one from the sequence'),
  allowDuplicateName,
})
export const updateStudentFields = z.object({ ...studentFields, allowDuplicateName }).partial()
export const createStudentBody = createStudentFields.extend(syncFields).superRefine(checkTargets)
export const updateStudentBody = updateStudentFields.extend(syncFields).superRefine(checkTargets)
export type CreateStudentInput = z.infer<typeof createStudentFields>
export type UpdateStudentInput = z.infer<typeof updateStudentFields>
export type SyncOptions = Pick<z.infer<typeof createStudentBody>, 'syncMode' | 'targetDeviceIds' | 'wait' | 'atomic'>

const queryFlag = z.enum(['true', 'false']).transform((v) => v === 'true')
export const saveQuery = z.object({
  wait: queryFlag.optional().describe('As wait in the body'),
  atomic: queryFlag.optional().describe('As atomic in the body'),
})
export const photoQuery = z.object({
  syncMode: z.enum(['none', 'all']).default('all').describe('all: send the new face to every device the student is on; none: store it only'),
  wait: queryFlag.optional().describe('Wait (at most SYNC_WAIT_SECONDS) for the devices and answer their results'),
})

export const studentParams = z.object({ schoolId: uuid, studentId: uuid })

export const studentListQuery = pageQuery.extend({
  search: z.string().trim().min(1).max(100).optional().describe('Matches names (every word) or the start of employeeNo'),
  classId: uuid.optional(),
  status: z.enum(['active', 'inactive']).optional(),
  sort: z.enum(['lastName', 'firstName', 'employeeNo', 'createdAt']).default('lastName'),
  order: z.enum(['asc', 'desc']).default('asc'),
})
export type StudentListQuery = z.infer<typeof studentListQuery>

export const studentSchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  classId: z.uuid().nullable(),
  employeeNo: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  fatherName: z.string().nullable(),
  gender: z.enum(['male', 'female']),
  parentPhone: z.string().nullable(),
  status: z.enum(['active', 'inactive']),
  photoUrl: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Student' })
export type StudentDto = z.infer<typeof studentSchema>

export const deviceResultSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  result: z.enum(['SUCCESS', 'FAILED', 'SKIPPED']),
  code: z.string().nullable().describe('The error code of a failure (e.g. DEVICE_UNREACHABLE)'),
  reason: z.string().nullable().describe('Why it failed or was skipped'),
})
export type DeviceResult = z.infer<typeof deviceResultSchema>

export const studentSyncSchema = z.object({
  jobId: z.uuid(),
  status: z.enum(jobStatuses).describe('The job\'s status when the answer was sent'),
  syncMode: z.enum(syncModes),
  deviceIds: z.array(z.uuid()),
  results: z.array(deviceResultSchema).optional().describe('Only when waited: one per device that has finished'),
}).meta({ id: 'StudentSync' })
export type StudentSync = z.infer<typeof studentSyncSchema>

export const savedStudentSchema = studentSchema.extend({
  sync: studentSyncSchema.nullable().describe('The job pushing this change to devices; null when none was started'),
}).meta({ id: 'SavedStudent' })

export const photoJsonBody = z.object({
  imageBase64: z.string().min(1).describe('The image as base64, optionally as a data: URL'),
})
