import type { Prisma } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'
import { skip } from '../../lib/schemas.js'
import type { StudentListQuery } from './students.schemas.js'

/** Prisma sends contains/startsWith as LIKE patterns without escaping: % and _ must match only themselves. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

function searchFilter (search: string): Prisma.StudentWhereInput {
  const words = search.split(/\s+/).filter(Boolean).map(likeLiteral)
  const nameMatch = (w: string): Prisma.StudentWhereInput => ({
    OR: (['firstName', 'lastName', 'fatherName'] as const).map((f) => ({ [f]: { contains: w, mode: 'insensitive' } })),
  })
  return { OR: [{ employeeNo: { startsWith: likeLiteral(search) } }, { AND: words.map(nameMatch) }] }
}

/** employeeNo is a number without leading zeros kept as text: shorter is smaller, then compare as text. */
const byEmployeeNo = (x: { employeeNo: string }, y: { employeeNo: string }) =>
  x.employeeNo.length - y.employeeNo.length || (x.employeeNo < y.employeeNo ? -1 : x.employeeNo > y.employeeNo ? 1 : 0)

/**
 * Student ids by employee number in a school (the number is unique per school; a soft-deleted
 * student keeps it, so its events still find it).
 */
export async function studentIdsByNumber (db: DbClient, schoolId: string, employeeNos: Iterable<string>) {
  const numbers = [...new Set(employeeNos)]
  const rows = numbers.length === 0
    ? []
    : await db.student.findMany({ where: { schoolId, employeeNo: { in: numbers } }, select: { id: true, employeeNo: true } })
  return new Map(rows.map((s) => [s.employeeNo, s.id]))
}

export function createStudentsRepository (db: DbClient) {
  /**
   * Prisma cannot order a text column numerically, so the page is cut from the
   * numbers (unique within the school) of all matching students, then loaded.
   */
  async function listByEmployeeNo (where: Prisma.StudentWhereInput, q: StudentListQuery) {
    const all = await db.student.findMany({ where, select: { id: true, employeeNo: true } })
    all.sort(q.order === 'asc' ? byEmployeeNo : (x, y) => byEmployeeNo(y, x))
    const ids = all.slice(skip(q), skip(q) + q.pageSize).map((s) => s.id)
    const rows = await db.student.findMany({ where: { id: { in: ids } } })
    const byId = new Map(rows.map((r) => [r.id, r]))
    return [ids.flatMap((id) => byId.get(id) ?? []), all.length] as const
  }

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
      if (q.sort === 'employeeNo') return listByEmployeeNo(where, q)
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

    /**
     * Holds the school's sequence row until the transaction ends, as nextEmployeeNo does:
     * a check of an explicit number then cannot race a number being handed out.
     */
    lockEmployeeNos: (schoolId: string) => db.$queryRaw`SELECT id::text FROM schools WHERE id = ${schoolId}::uuid FOR UPDATE`,

    employeeNoTaken: async (schoolId: string, employeeNo: string) =>
      (await db.student.count({ where: { schoolId, employeeNo } })) > 0,

    /** Holds the student's row until the transaction ends. */
    lockRow: (id: string) => db.$queryRaw`SELECT id::text FROM students WHERE id = ${id}::uuid FOR UPDATE`,

    /** Serialises writes that check for duplicate names within one class. */
    lockClass: (classId: string) => db.$queryRaw`SELECT pg_advisory_xact_lock(hashtext(${classId}))::text AS locked`,
  }
}
