import { z } from 'zod'
import { hhmm, trimmed, uuid } from '../../lib/schemas.js'

const classFields = {
  name: trimmed(100),
  grade: z.number().int().min(0).max(12),
  startTime: hhmm.describe('Lessons start, HH:mm in the school\'s time zone'),
  endTime: hhmm.nullish().describe('Lessons end, HH:mm'),
}

const endAfterStart = (c: { startTime?: string, endTime?: string | null }) => !c.startTime || !c.endTime || c.endTime > c.startTime
const endAfterStartIssue = { message: 'must be later than startTime', path: ['endTime'] }

export const createClassBody = z.object(classFields).refine(endAfterStart, endAfterStartIssue)
export const updateClassBody = z.object(classFields).partial().refine(endAfterStart, endAfterStartIssue)
export type CreateClassInput = z.infer<typeof createClassBody>
export type UpdateClassInput = z.infer<typeof updateClassBody>

export const classParams = z.object({ schoolId: uuid, classId: uuid })

export const classSchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  name: z.string(),
  grade: z.number().int(),
  startTime: z.string(),
  endTime: z.string().nullable(),
  studentCount: z.number().int().describe('Active students in the class'),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Class' })
export type ClassDto = z.infer<typeof classSchema>
