import type { PrismaClient, User } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction } from '../../lib/db.js'
import { AppError, badRequest, conflict, notFound } from '../../lib/errors.js'
import { hashPassword } from '../../lib/password.js'
import { recordAudit } from '../audit/audit.repository.js'
import { createUsersRepository } from './users.repository.js'
import type { CreateUserInput, UpdateUserInput, UserDto, UserListQuery } from './users.schemas.js'

export const toUserDto = (u: User): UserDto => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  schoolId: u.schoolId,
  createdAt: u.createdAt.toISOString(),
  updatedAt: u.updatedAt.toISOString(),
})

const emailTaken = (email: string) => conflict('EMAIL_TAKEN', `A user with email ${email} already exists`)

export function createUsersService ({ db }: { db: PrismaClient }) {
  const repo = createUsersRepository(db)

  async function mustFind (schoolId: string, userId: string) {
    const user = await repo.findInSchool(schoolId, userId)
    if (!user) throw notFound('User')
    return user
  }

  return {
    async list (schoolId: string, q: UserListQuery) {
      const [rows, total] = await repo.list(schoolId, q)
      return { items: rows.map(toUserDto), total }
    },

    get: async (schoolId: string, userId: string) => toUserDto(await mustFind(schoolId, userId)),

    async create (ctx: ActorContext, schoolId: string, input: CreateUserInput) {
      const passwordHash = await hashPassword(input.password)
      try {
        return await withTransaction(db, async (tx) => {
          const user = await createUsersRepository(tx).create({ email: input.email, name: input.name, role: input.role, schoolId, passwordHash })
          await recordAudit(tx, ctx, { action: 'create', entity: 'user', entityId: user.id, schoolId, after: toUserDto(user) })
          return toUserDto(user)
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['email'])) throw emailTaken(input.email)
        throw err
      }
    },

    async update (ctx: ActorContext, schoolId: string, userId: string, input: UpdateUserInput) {
      const { password, ...fields } = input
      const passwordHash = password ? await hashPassword(password) : undefined
      try {
        return await withTransaction(db, async (tx) => {
          const txRepo = createUsersRepository(tx)
          const before = await txRepo.findInSchool(schoolId, userId)
          if (!before) throw notFound('User')
          if (before.id === ctx.actor.id && fields.role && fields.role !== before.role) {
            throw badRequest('CANNOT_CHANGE_OWN_ROLE', 'You cannot change your own role')
          }
          const after = await txRepo.update(userId, {
            ...fields,
            ...(passwordHash && { passwordHash, tokenVersion: { increment: 1 } }),
          })
          if (passwordHash) await tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } })
          if (before.role === 'TEACHER' && after.role !== 'TEACHER') await txRepo.setTeacherClasses(userId, [])
          await recordAudit(tx, ctx, {
            action: 'update', entity: 'user', entityId: userId, schoolId,
            before: { ...toUserDto(before), ...(passwordHash && { password: 'old' }) },
            after: { ...toUserDto(after), ...(passwordHash && { password: 'new' }) },
          })
          return toUserDto(after)
        })
      } catch (err) {
        if (fields.email && isUniqueConstraintError(err, ['email'])) throw emailTaken(fields.email)
        throw err
      }
    },

    async remove (ctx: ActorContext, schoolId: string, userId: string) {
      if (userId === ctx.actor.id) throw badRequest('CANNOT_DELETE_SELF', 'You cannot delete your own account')
      await withTransaction(db, async (tx) => {
        const txRepo = createUsersRepository(tx)
        const before = await txRepo.findInSchool(schoolId, userId)
        if (!before) throw notFound('User')
        // The email is released for reuse; the row stays so audit entries keep their actor.
        await txRepo.update(userId, { deletedAt: new Date(), email: `${before.email}~deleted~${before.id}`, tokenVersion: { increment: 1 } })
        await txRepo.setTeacherClasses(userId, [])
        await tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'user', entityId: userId, schoolId, before: toUserDto(before) })
      })
    },

    async getTeacherClasses (schoolId: string, teacherId: string) {
      const teacher = await mustFind(schoolId, teacherId)
      return { teacherId: teacher.id, classIds: await repo.teacherClassIds(teacher.id) }
    },

    async setTeacherClasses (ctx: ActorContext, schoolId: string, teacherId: string, classIds: string[]) {
      return withTransaction(db, async (tx) => {
        const txRepo = createUsersRepository(tx)
        const teacher = await txRepo.findInSchool(schoolId, teacherId)
        if (!teacher) throw notFound('User')
        if (teacher.role !== 'TEACHER') throw badRequest('NOT_A_TEACHER', 'Classes can only be assigned to a user with role TEACHER')
        const found = await tx.class.findMany({ where: { id: { in: classIds }, schoolId }, select: { id: true } })
        const missing = classIds.filter((id) => !found.some((c) => c.id === id))
        if (missing.length > 0) throw new AppError(404, 'CLASS_NOT_FOUND', `Class not found: ${missing.join(', ')}`)
        const before = await txRepo.teacherClassIds(teacherId)
        await txRepo.setTeacherClasses(teacherId, classIds)
        const after = await txRepo.teacherClassIds(teacherId)
        await recordAudit(tx, ctx, { action: 'assign_classes', entity: 'user', entityId: teacherId, schoolId, before: { classIds: before }, after: { classIds: after } })
        return { teacherId, classIds: after }
      })
    },
  }
}

export type UsersService = ReturnType<typeof createUsersService>
