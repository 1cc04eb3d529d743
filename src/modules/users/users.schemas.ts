import { z } from 'zod'
import { pageQuery, trimmed, uuid } from '../../lib/schemas.js'

export const schoolRoles = ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD'] as const
export const allRoles = ['SUPER_ADMIN', ...schoolRoles] as const

export const password = z.string().min(10, 'must be at least 10 characters').max(200)
export const email = z.email().trim().toLowerCase().max(254)

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: z.enum(allRoles),
  schoolId: z.uuid().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'User' })
export type UserDto = z.infer<typeof userSchema>

export const createUserBody = z.object({
  email,
  name: trimmed(200),
  role: z.enum(schoolRoles),
  password,
})
export const updateUserBody = z.object({
  email: email.optional(),
  name: trimmed(200).optional(),
  role: z.enum(schoolRoles).optional(),
  password: password.optional().describe('Sets a new password; the user is signed out everywhere'),
})
export type CreateUserInput = z.infer<typeof createUserBody>
export type UpdateUserInput = z.infer<typeof updateUserBody>

export const userParams = z.object({ schoolId: uuid, userId: uuid })
export const userListQuery = pageQuery.extend({
  role: z.enum(schoolRoles).optional(),
  search: z.string().trim().min(1).max(100).optional(),
})
export type UserListQuery = z.infer<typeof userListQuery>

export const teacherClassesBody = z.object({ classIds: z.array(uuid).max(200).transform((ids) => [...new Set(ids)]) })
export const teacherClassesSchema = z.object({ teacherId: z.uuid(), classIds: z.array(z.uuid()) })
