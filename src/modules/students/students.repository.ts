import type { Prisma } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'
import { skip } from '../../lib/schemas.js'
import type { StudentListQuery } from './students.schemas.js'

function searchFilter (search: string): Prisma.StudentWhereInput {
  const words = search.split(/\s+/).filter(Boolean)
  const nameMatch = (w: string): Prisma.StudentWhereInput => ({
    OR: (['firstName', 'lastName', 'fatherName'] as const).map((f) => ({ [f]: { contains: w, mode: 'insensitive' } })),
  })
  return { OR: [{ employeeNo: { startsWith: search } }, { AND: words.map(nameMatch) }] }
}

export function createStudentsRepository (db: DbClient) {
  return {
    findInSchool: (schoolId: string, id: string) => db.student.findFirst({ where: { id, schoolId, deletedAt: null } }),

    async list (schoolId: string, q: StudentListQuery, classIds?: string[]) {
      const where: Prisma.StudentWhereInput = {
        schoolId,
        deletedAt: null,
        ...(q.classId && { classId: q.classId }),
        ...(classIds && { classId: { in: q.classId ? classIds.filter((c) => c === q.classId) : classIds } }),
        ...(q.status && { status: q.status }),
        ...(q.search && searchFilter(q.search)),
      }
      const orderBy: Prisma.StudentOrderByWithRelationInput[] = [{ [q.sort]: q.order }]
      if (q.sort === 'lastName') orderBy.push({ firstName: q.order })
      orderBy.push({ id: 'asc' })
      return Promise.all([
        db.student.findMany({ where, orderBy, skip: skip(q), take: q.pageSize }),
        db.student.count({ where }),
      ])
    },

    /** Same first and last name (any case) among the class's current students. */
    sameNameInClass: (schoolId: string, classId: string, firstName: string, lastName: string, exceptId?: string) =>
      db.student.findFirst({
        where: {
          schoolId, classId, deletedAt: null,
          firstName: { equals: firstName, mode: 'insensitive' },
          lastName: { equals: lastName, mode: 'insensitive' },
          ...(exceptId && { id: { not: exceptId } }),
        },
        select: { id: true, employeeNo: true },
      }),

    /** Takes the next number of the school's sequence that no student (even a deleted one) has. */
    async nextEmployeeNo (schoolId: string) {
      for (;;) {
        const [row] = await db.$queryRaw<Array<{ n: number }>>`
          UPDATE schools SET next_employee_no = next_employee_no + 1 WHERE id = ${schoolId}::uuid
          RETURNING next_employee_no - 1 AS n`
        const candidate = String(row.n)
        if (!await db.student.findFirst({ where: { schoolId, employeeNo: candidate }, select: { id: true } })) return candidate
      }
    },

    employeeNoTaken: async (schoolId: string, employeeNo: string) =>
      (await db.student.count({ where: { schoolId, employeeNo } })) > 0,

    /** Serialises writes that check for duplicate names within one class. */
    lockClass: (classId: string) => db.$queryRaw`SELECT pg_advisory_xact_lock(hashtext(${classId}))::text AS locked`,
  }
}
