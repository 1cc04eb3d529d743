import type { DbClient } from '../../lib/db.js'
import type { Prisma } from '../../generated/prisma/client.js'

export function createSchoolsRepository (db: DbClient) {
  return {
    findActive: (id: string) => db.school.findFirst({ where: { id, deletedAt: null } }),
    list: (where: Prisma.SchoolWhereInput, skip: number, take: number) => Promise.all([
      db.school.findMany({ where: { ...where, deletedAt: null }, orderBy: [{ name: 'asc' }, { id: 'asc' }], skip, take }),
      db.school.count({ where: { ...where, deletedAt: null } }),
    ]),
    create: (data: Prisma.SchoolCreateInput) => db.school.create({ data }),
    update: (id: string, data: Prisma.SchoolUpdateInput) => db.school.update({ where: { id }, data }),
  }
}
