import type { Class, PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction, type DbClient } from '../../lib/db.js'
import { AppError, conflict, notFound } from '../../lib/errors.js'
import { skip, type PageQuery } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import type { ClassDto, CreateClassInput, UpdateClassInput } from './classes.schemas.js'

export const toClassDto = (c: Class, studentCount = 0): ClassDto => ({
  id: c.id,
  schoolId: c.schoolId,
  name: c.name,
  grade: c.grade,
  startTime: c.startTime,
  endTime: c.endTime,
  studentCount,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
})

const nameTaken = (name: string) => conflict('CLASS_NAME_TAKEN', `A class named "${name}" already exists in this school`)
const activeStudents = { where: { deletedAt: null, status: 'active' as const } }
const withCount = { _count: { select: { students: activeStudents } } }

/** The classes a teacher may see; undefined means no restriction. */
export async function visibleClassIds (db: DbClient, ctx: Pick<ActorContext, 'actor'>): Promise<string[] | undefined> {
  if (ctx.actor.role !== 'TEACHER') return undefined
  const rows = await db.teacherClass.findMany({ where: { teacherId: ctx.actor.id }, select: { classId: true } })
  return rows.map((r) => r.classId)
}

/**
 * The classes whose students a user may see, narrowed to `classId` when one is named: null means
 * every class; an empty list, a class that is not the teacher's.
 */
export async function visibleClassScope (db: DbClient, ctx: Pick<ActorContext, 'actor'>, classId?: string): Promise<string[] | null> {
  const allowed = await visibleClassIds(db, ctx)
  if (classId) return allowed && !allowed.includes(classId) ? [] : [classId]
  return allowed ?? null
}

export function createClassesService ({ db }: { db: PrismaClient }) {
  async function mustFind (tx: DbClient, schoolId: string, classId: string) {
    const found = await tx.class.findFirst({ where: { id: classId, schoolId } })
    if (!found) throw notFound('Class')
    return found
  }

  return {
    async list (ctx: ActorContext, schoolId: string, page: PageQuery) {
      const allowed = await visibleClassIds(db, ctx)
      const where = { schoolId, ...(allowed && { id: { in: allowed } }) }
      const [rows, total] = await Promise.all([
        db.class.findMany({ where, include: withCount, orderBy: [{ grade: 'asc' }, { name: 'asc' }, { id: 'asc' }], skip: skip(page), take: page.pageSize }),
        db.class.count({ where }),
      ])
      return { items: rows.map((c) => toClassDto(c, c._count.students)), total }
    },

    async get (ctx: ActorContext, schoolId: string, classId: string) {
      const allowed = await visibleClassIds(db, ctx)
      const row = await db.class.findFirst({ where: { id: classId, schoolId }, include: withCount })
      if (!row || (allowed && !allowed.includes(row.id))) throw notFound('Class')
      return toClassDto(row, row._count.students)
    },

    async create (ctx: ActorContext, schoolId: string, input: CreateClassInput) {
      try {
        return await withTransaction(db, async (tx) => {
          const created = await tx.class.create({ data: { ...input, schoolId } })
          await recordAudit(tx, ctx, { action: 'create', entity: 'class', entityId: created.id, schoolId, after: toClassDto(created) })
          return toClassDto(created)
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['name'])) throw nameTaken(input.name)
        throw err
      }
    },

    async update (ctx: ActorContext, schoolId: string, classId: string, input: UpdateClassInput) {
      try {
        return await withTransaction(db, async (tx) => {
          const before = await mustFind(tx, schoolId, classId)
          const endTime = input.endTime === undefined ? before.endTime : input.endTime
          if (endTime && endTime <= (input.startTime ?? before.startTime)) {
            throw new AppError(400, 'VALIDATION_FAILED', 'endTime must be later than startTime', { errors: [{ field: 'endTime', message: 'must be later than startTime' }] })
          }
          const after = await tx.class.update({ where: { id: classId }, data: input, include: withCount })
          await recordAudit(tx, ctx, { action: 'update', entity: 'class', entityId: classId, schoolId, before: toClassDto(before), after: toClassDto(after) })
          return toClassDto(after, after._count.students)
        })
      } catch (err) {
        if (input.name && isUniqueConstraintError(err, ['name'])) throw nameTaken(input.name)
        throw err
      }
    },

    /** A class that still has students cannot be deleted; teacher assignments go with it. */
    async remove (ctx: ActorContext, schoolId: string, classId: string) {
      await withTransaction(db, async (tx) => {
        const before = await mustFind(tx, schoolId, classId)
        const students = await tx.student.count({ where: { classId, deletedAt: null } })
        if (students > 0) throw conflict('CLASS_NOT_EMPTY', `The class still has ${students} student(s); move or delete them first`, { students })
        await tx.class.delete({ where: { id: classId } })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'class', entityId: classId, schoolId, before: toClassDto(before) })
      })
    },
  }
}

export type ClassesService = ReturnType<typeof createClassesService>
