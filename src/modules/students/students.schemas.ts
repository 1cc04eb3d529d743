import { z } from 'zod'
import { optionalText, pageQuery, trimmed, uuid } from '../../lib/schemas.js'

export const employeeNo = z.string().regex(/^[1-9]\d{0,8}$/, 'must be a number from 1 to 999999999, without leading zeros')

const studentFields = {
  firstName: trimmed(100),
  lastName: trimmed(100),
  fatherName: optionalText(100),
  gender: z.enum(['male', 'female']),
  classId: uuid.nullish(),
  parentPhone: z.string().trim().regex(/^\+?[0-9 ()-]{5,20}$/, 'must be a phone number').nullish().or(z.literal('').transform(() => null)),
  status: z.enum(['active', 'inactive']),
}

const allowDuplicateName = z.boolean().default(false).describe('Save even if the class already has a student with this first and last name')

export const createStudentBody = z.object({
  ...studentFields,
  status: studentFields.status.default('active'),
  employeeNo: employeeNo.optional().describe('Only for imports: a free number to use instead of the next one from the sequence'),
  allowDuplicateName,
})
export const updateStudentBody = z.object({ ...studentFields, allowDuplicateName }).partial()
export type CreateStudentInput = z.infer<typeof createStudentBody>
export type UpdateStudentInput = z.infer<typeof updateStudentBody>

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

export const photoJsonBody = z.object({
  imageBase64: z.string().min(1).describe('The image as base64, optionally as a data: URL'),
})
