import type { PrismaClient, School } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction } from '../../lib/db.js'
import { conflict, forbidden, notFound } from '../../lib/errors.js'
import { skip, type PageQuery } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import { createSchoolsRepository } from './schools.repository.js'
import type { CreateSchoolInput, SchoolDto, UpdateSchoolInput } from './schools.schemas.js'

export const toSchoolDto = (s: School): SchoolDto => ({
  id: s.id,
  name: s.name,
  code: s.code,
  timezone: s.timezone,
  lateThresholdMinutes: s.lateThresholdMinutes,
  absenceCutoffMinutes: s.absenceCutoffMinutes,
  weekendDays: s.weekendDays,
  address: s.address,
  phone: s.phone,
  email: s.email,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
})

const codeTaken = (code: string) => conflict('SCHOOL_CODE_TAKEN', `A school with code "${code}" already exists`)

export function createSchoolsService ({ db }: { db: PrismaClient }) {
  const repo = createSchoolsRepository(db)

  return {
    async list (ctx: ActorContext, page: PageQuery) {
      // A user without a school sees none ('' is not a uuid: Postgres would reject it).
      const where = ctx.actor.role === 'SUPER_ADMIN' ? {} : { id: { in: ctx.actor.schoolId ? [ctx.actor.schoolId] : [] } }
      const [rows, total] = await repo.list(where, skip(page), page.pageSize)
      return { items: rows.map(toSchoolDto), total }
    },

    async get (id: string) {
      const school = await repo.findActive(id)
      if (!school) throw notFound('School')
      return toSchoolDto(school)
    },

    async create (ctx: ActorContext, input: CreateSchoolInput) {
      if (ctx.actor.role !== 'SUPER_ADMIN') throw forbidden('Only a super admin can create schools')
      try {
        return await withTransaction(db, async (tx) => {
          const school = await createSchoolsRepository(tx).create(input)
          await recordAudit(tx, ctx, { action: 'create', entity: 'school', entityId: school.id, schoolId: school.id, after: toSchoolDto(school) })
          return toSchoolDto(school)
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['code'])) throw codeTaken(input.code)
        throw err
      }
    },

    async update (ctx: ActorContext, id: string, input: UpdateSchoolInput) {
      try {
        return await withTransaction(db, async (tx) => {
          const txRepo = createSchoolsRepository(tx)
          const before = await txRepo.findActive(id)
          if (!before) throw notFound('School')
          const after = await txRepo.update(id, input)
          await recordAudit(tx, ctx, { action: 'update', entity: 'school', entityId: id, schoolId: id, before: toSchoolDto(before), after: toSchoolDto(after) })
          return toSchoolDto(after)
        })
      } catch (err) {
        if (input.code && isUniqueConstraintError(err, ['code'])) throw codeTaken(input.code)
        throw err
      }
    },

    async remove (ctx: ActorContext, id: string) {
      await withTransaction(db, async (tx) => {
        const txRepo = createSchoolsRepository(tx)
        const before = await txRepo.findActive(id)
        if (!before) throw notFound('School')
        // The code is released so a new school may use it; the row stays for history.
        await txRepo.update(id, { deletedAt: new Date(), code: `${before.code}~deleted~${before.id}` })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'school', entityId: id, schoolId: id, before: toSchoolDto(before) })
      })
    },
  }
}

export type SchoolsService = ReturnType<typeof createSchoolsService>
