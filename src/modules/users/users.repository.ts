import type { Prisma } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'
import type { UserListQuery } from './users.schemas.js'

export function createUsersRepository (db: DbClient) {
  return {
    findInSchool: (schoolId: string, id: string) => db.user.findFirst({ where: { id, schoolId, deletedAt: null } }),
    findByEmail: (email: string) => db.user.findFirst({ where: { email, deletedAt: null } }),
    async list (schoolId: string, q: UserListQuery) {
      const where: Prisma.UserWhereInput = {
        schoolId,
        deletedAt: null,
        ...(q.role && { role: q.role }),
        ...(q.search && { OR: [{ name: { contains: q.search, mode: 'insensitive' } }, { email: { contains: q.search, mode: 'insensitive' } }] }),
      }
      return Promise.all([
        db.user.findMany({ where, orderBy: [{ name: 'asc' }, { id: 'asc' }], skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
        db.user.count({ where }),
      ])
    },
    create: (data: Prisma.UserUncheckedCreateInput) => db.user.create({ data }),
    update: (id: string, data: Prisma.UserUncheckedUpdateInput) => db.user.update({ where: { id }, data }),
    teacherClassIds: async (teacherId: string) =>
      (await db.teacherClass.findMany({ where: { teacherId }, select: { classId: true }, orderBy: { classId: 'asc' } })).map((t) => t.classId),
    async setTeacherClasses (teacherId: string, classIds: string[]) {
      await db.teacherClass.deleteMany({ where: { teacherId, classId: { notIn: classIds } } })
      await db.teacherClass.createMany({ data: classIds.map((classId) => ({ teacherId, classId })), skipDuplicates: true })
    },
  }
}
