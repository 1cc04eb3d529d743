import { z } from 'zod'
import { employeeNoSchema } from '../../integrations/isapi/index.js'
import { pageQuery } from '../../lib/schemas.js'
import { deviceParams } from './devices.schemas.js'

const localDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'must be a local time as YYYY-MM-DDTHH:mm:ss (no offset), as terminals store it')

export const deviceUserParams = deviceParams.extend({ employeeNo: employeeNoSchema })
export const deviceUsersQuery = pageQuery.extend({
  search: z.string().trim().min(1).max(100).optional().describe('Part of the name or employeeNo (case-insensitive)'),
})
export type DeviceUsersQuery = z.infer<typeof deviceUsersQuery>

export const deleteDeviceUserQuery = z.object({
  confirm: z.stringbool().optional().describe('Must be true: deleting a person from a terminal also deletes their face there'),
})

export const deviceUserSchema = z.object({
  employeeNo: z.string(),
  name: z.string(),
  gender: z.enum(['male', 'female']).nullable(),
  userType: z.string().nullable(),
  valid: z.object({ enable: z.boolean(), beginTime: z.string().nullable(), endTime: z.string().nullable() }).nullable(),
  hasFace: z.boolean().nullable().describe('null when the firmware does not say'),
  numOfCard: z.number().int().nullable(),
  numOfFP: z.number().int().nullable(),
  student: z.object({
    id: z.uuid(), firstName: z.string(), lastName: z.string(), classId: z.uuid().nullable(), status: z.string(),
  }).nullable().describe('The student of this school with the same employeeNo, if any'),
}).meta({ id: 'DeviceUser' })
export type DeviceUserDto = z.infer<typeof deviceUserSchema>

export const updateDeviceUserBody = z.object({
  employeeNo: employeeNoSchema.optional().describe('A new employeeNo: the person is created under it (with their face) before the old record is deleted'),
  name: z.string().trim().min(1).max(128).optional(),
  gender: z.enum(['male', 'female']).nullable().optional(),
  valid: z.object({ enable: z.boolean().optional(), beginTime: localDateTime.optional(), endTime: localDateTime.optional() }).optional(),
  faceImageBase64: z.string().min(1).optional().describe('A new face (JPEG/PNG/WebP, base64); it is normalised like enrolment photos'),
}).refine((b) => Object.keys(b).length > 0, 'nothing to change')
export type UpdateDeviceUserInput = z.infer<typeof updateDeviceUserBody>

export const deviceUserUpdateResult = z.object({
  user: deviceUserSchema,
  method: z.enum(['modify', 'setUp', 'recreate']).describe('recreate = created under the new employeeNo, then the old one deleted'),
  faceUpdated: z.boolean(),
}).meta({ id: 'DeviceUserUpdateResult' })
