import type { Prisma } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'

/*
 * Attendance shows a user the students of the classes `visibleClassScope` gives them (null: every student of
 * the school). These put that one scope into each kind of query.
 */

/** The scope as a Prisma filter on students. */
export const studentsIn = (classIds: string[] | null): Prisma.StudentWhereInput => (classIds ? { classId: { in: classIds } } : {})

/** The scope as SQL: whether the student in `studentIdColumn` is in the classes of uuid[] parameter `$param`. */
export const studentInClassesSql = (studentIdColumn: string, param: number) =>
  `($${param}::uuid[] IS NULL OR ${studentIdColumn} IN (SELECT id FROM students WHERE class_id = ANY($${param}::uuid[])))`

/**
 * The scope as a filter on a `studentId` column, for events, which have no relation to students. It lists
 * the students at the time it is made; an unmatched event (no student) is in no class.
 */
export async function studentIdsIn (db: DbClient, schoolId: string, classIds: string[] | null) {
  if (!classIds) return {}
  const students = await db.student.findMany({ where: { schoolId, ...studentsIn(classIds) }, select: { id: true } })
  return { studentId: { in: students.map((s) => s.id) } }
}
