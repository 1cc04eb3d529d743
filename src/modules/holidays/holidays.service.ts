import type { Holiday, PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { isUniqueConstraintError, withTransaction } from '../../lib/db.js'
import { conflict, notFound } from '../../lib/errors.js'
import { skip } from '../../lib/schemas.js'
import { recordAudit } from '../audit/audit.repository.js'
import type { HolidayInput, HolidayListQuery } from './holidays.schemas.js'

const toDate = (ymd: string) => new Date(`${ymd}T00:00:00Z`)
export const toHolidayDto = (h: Holiday) => ({
  id: h.id,
  schoolId: h.schoolId,
  date: h.date.toISOString().slice(0, 10),
  name: h.name,
  createdAt: h.createdAt.toISOString(),
  updatedAt: h.updatedAt.toISOString(),
})

const dateTaken = (date?: string) => conflict('HOLIDAY_DATE_TAKEN', `There is already a holiday on ${date ?? 'that date'}`)

export function createHolidaysService ({ db }: { db: PrismaClient }) {
  return {
    async list (schoolId: string, q: HolidayListQuery) {
      const where = { schoolId, ...((q.from ?? q.to) && { date: { ...(q.from && { gte: toDate(q.from) }), ...(q.to && { lte: toDate(q.to) }) } }) }
      const [rows, total] = await Promise.all([
        db.holiday.findMany({ where, orderBy: [{ date: 'asc' }], skip: skip(q), take: q.pageSize }),
        db.holiday.count({ where }),
      ])
      return { items: rows.map(toHolidayDto), total }
    },

    async create (ctx: ActorContext, schoolId: string, input: HolidayInput) {
      try {
        return await withTransaction(db, async (tx) => {
          const created = await tx.holiday.create({ data: { schoolId, name: input.name, date: toDate(input.date) } })
          await recordAudit(tx, ctx, { action: 'create', entity: 'holiday', entityId: created.id, schoolId, after: toHolidayDto(created) })
          return toHolidayDto(created)
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['date'])) throw dateTaken(input.date)
        throw err
      }
    },

    async update (ctx: ActorContext, schoolId: string, holidayId: string, input: Partial<HolidayInput>) {
      try {
        return await withTransaction(db, async (tx) => {
          const before = await tx.holiday.findFirst({ where: { id: holidayId, schoolId } })
          if (!before) throw notFound('Holiday')
          const after = await tx.holiday.update({ where: { id: holidayId }, data: { ...(input.name && { name: input.name }), ...(input.date && { date: toDate(input.date) }) } })
          await recordAudit(tx, ctx, { action: 'update', entity: 'holiday', entityId: holidayId, schoolId, before: toHolidayDto(before), after: toHolidayDto(after) })
          return toHolidayDto(after)
        })
      } catch (err) {
        if (isUniqueConstraintError(err, ['date'])) throw dateTaken(input.date)
        throw err
      }
    },

    async remove (ctx: ActorContext, schoolId: string, holidayId: string) {
      await withTransaction(db, async (tx) => {
        const before = await tx.holiday.findFirst({ where: { id: holidayId, schoolId } })
        if (!before) throw notFound('Holiday')
        await tx.holiday.delete({ where: { id: holidayId } })
        await recordAudit(tx, ctx, { action: 'delete', entity: 'holiday', entityId: holidayId, schoolId, before: toHolidayDto(before) })
      })
    },
  }
}

export type HolidaysService = ReturnType<typeof createHolidaysService>
