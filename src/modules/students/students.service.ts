import type { PrismaClient, Student } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction, type DbClient } from '../../lib/db.js'
import { AppError, conflict, notFound } from '../../lib/errors.js'
import { recordAudit } from '../audit/audit.repository.js'
import { visibleClassIds } from '../classes/classes.service.js'
import { createStudentsRepository } from './students.repository.js'
import type { CreateStudentInput, StudentDto, StudentListQuery, UpdateStudentInput } from './students.schemas.js'

export const toStudentDto = (s: Student): StudentDto => ({
  id: s.id,
  schoolId: s.schoolId,
  classId: s.classId,
  employeeNo: s.employeeNo,
  firstName: s.firstName,
  lastName: s.lastName,
  fatherName: s.fatherName,
  gender: s.gender,
  parentPhone: s.parentPhone,
  status: s.status,
  photoUrl: s.photoUrl,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
})

// Fields a terminal stores: a change to any of them must reach the devices again.
const DEVICE_FIELDS = ['firstName', 'lastName', 'gender', 'status'] as const

const fieldError = (status: number, code: string, field: string, message: string) =>
  new AppError(status, code, `${field} ${message}`, { errors: [{ field, message }] })

export function createStudentsService ({ db }: { db: PrismaClient }) {
  async function assertClassInSchool (tx: DbClient, schoolId: string, classId: string) {
    const found = await tx.class.findFirst({ where: { id: classId, schoolId }, select: { id: true } })
    if (!found) throw fieldError(400, 'CLASS_NOT_FOUND', 'classId', 'is not a class of this school')
  }

  async function assertUniqueName (tx: DbClient, schoolId: string, s: { classId?: string | null, firstName: string, lastName: string }, exceptId?: string) {
    if (!s.classId) return
    const repo = createStudentsRepository(tx)
    await repo.lockClass(s.classId)
    const other = await repo.sameNameInClass(schoolId, s.classId, s.firstName, s.lastName, exceptId)
    if (other) {
      throw conflict('STUDENT_DUPLICATE_NAME', `This class already has a student named ${s.firstName} ${s.lastName}; send allowDuplicateName=true to save anyway`, { existingStudentId: other.id })
    }
  }

  /** A teacher reads only students of the classes assigned to it; others see the whole school. */
  async function assertVisible (ctx: ActorContext, student: Student) {
    const allowed = await visibleClassIds(db, ctx)
    if (allowed && (!student.classId || !allowed.includes(student.classId))) throw notFound('Student')
  }

  async function mustFind (tx: DbClient, schoolId: string, studentId: string) {
    const student = await createStudentsRepository(tx).findInSchool(schoolId, studentId)
    if (!student) throw notFound('Student')
    return student
  }

  return {
    mustFind: (schoolId: string, studentId: string) => mustFind(db, schoolId, studentId),

    async list (ctx: ActorContext, schoolId: string, q: StudentListQuery) {
      const [rows, total] = await createStudentsRepository(db).list(schoolId, q, await visibleClassIds(db, ctx))
      return { items: rows.map(toStudentDto), total }
    },

    async get (ctx: ActorContext, schoolId: string, studentId: string) {
      const student = await mustFind(db, schoolId, studentId)
      await assertVisible(ctx, student)
      return student
    },

    /** Creates the student (in `tx` when given, so the caller can add its own writes) and returns the row. */
    async create (ctx: ActorContext, schoolId: string, input: CreateStudentInput, tx?: DbClient) {
      const { allowDuplicateName, employeeNo: requestedNo, ...fields } = input
      try {
        return await withTransaction(tx ?? db, async (tx) => {
          const repo = createStudentsRepository(tx)
          if (fields.classId) await assertClassInSchool(tx, schoolId, fields.classId)
          if (!allowDuplicateName) await assertUniqueName(tx, schoolId, fields)
          if (requestedNo) {
            await repo.lockEmployeeNos(schoolId)
            if (await repo.employeeNoTaken(schoolId, requestedNo)) {
              throw fieldError(409, 'EMPLOYEE_NO_TAKEN', 'employeeNo', `${requestedNo} is or was used by another person of this school`)
            }
          }
          const employeeNo = requestedNo ?? await repo.nextEmployeeNo(schoolId)
          const created = await tx.student.create({ data: { ...fields, schoolId, employeeNo } })
          await recordAudit(tx, ctx, { action: 'create', entity: 'student', entityId: created.id, schoolId, after: toStudentDto(created) })
          return created
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['employee_no', 'employeeNo'])) {
          throw fieldError(409, 'EMPLOYEE_NO_TAKEN', 'employeeNo', 'was just taken by another person of this school')
        }
        throw err
      }
    },

    /** Updates the student (in `tx` when given) and returns the rows before and after. */
    async update (ctx: ActorContext, schoolId: string, studentId: string, input: UpdateStudentInput, tx?: DbClient) {
      const { allowDuplicateName, ...fields } = input
      return withTransaction(tx ?? db, async (tx) => {
        await createStudentsRepository(tx).lockRow(studentId)
        const before = await mustFind(tx, schoolId, studentId)
        if (fields.classId) await assertClassInSchool(tx, schoolId, fields.classId)
        const merged = { ...before, ...fields }
        const nameOrClassChanged = ['classId', 'firstName', 'lastName'].some((k) => k in fields && fields[k as keyof typeof fields] !== before[k as keyof Student])
        if (!allowDuplicateName && nameOrClassChanged) await assertUniqueName(tx, schoolId, merged, studentId)
        const deviceChange = DEVICE_FIELDS.some((k) => fields[k] !== undefined && fields[k] !== before[k])
        const after = await tx.student.update({ where: { id: studentId }, data: { ...fields, ...(deviceChange && { version: { increment: 1 } }) } })
        await recordAudit(tx, ctx, { action: 'update', entity: 'student', entityId: studentId, schoolId, before: toStudentDto(before), after: toStudentDto(after) })
        return { before, after }
      })
    },

    /** Soft delete: the row, and with it the employeeNo, is kept so the number is never reused. */
    async remove (ctx: ActorContext, schoolId: string, studentId: string, tx?: DbClient) {
      return withTransaction(tx ?? db, async (tx) => {
        const before = await mustFind(tx, schoolId, studentId)
        const after = await tx.student.update({ where: { id: studentId }, data: { deletedAt: new Date(), status: 'inactive', version: { increment: 1 } } })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'student', entityId: studentId, schoolId, before: toStudentDto(before) })
        return after
      })
    },

    /**
     * Undoes a save whose devices failed: back to `image` (the row before an update), or soft-deleted
     * when the save created the student (its employeeNo stays used). Only while the row is still at
     * `version`, so a later edit by someone else is never overwritten; returns null otherwise.
     */
    async restore (ctx: ActorContext, studentId: string, version: number, image: Student | null, tx: DbClient) {
      await createStudentsRepository(tx).lockRow(studentId)
      const current = await tx.student.findUnique({ where: { id: studentId } })
      if (!current || current.version !== version || current.deletedAt) return null
      const { firstName, lastName, fatherName, gender, classId, parentPhone, status } = image ?? current
      const after = await tx.student.update({
        where: { id: studentId },
        data: image
          ? { firstName, lastName, fatherName, gender, classId, parentPhone, status, version: { increment: 1 } }
          : { deletedAt: new Date(), status: 'inactive', version: { increment: 1 } },
      })
      await recordAudit(tx, ctx, { action: 'sync_rollback', entity: 'student', entityId: studentId, schoolId: current.schoolId, before: toStudentDto(current), after: image ? toStudentDto(after) : null })
      return after
    },
  }
}

export type StudentsService = ReturnType<typeof createStudentsService>
