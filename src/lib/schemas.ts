import { z } from 'zod'

export const uuid = z.uuid()

export const schoolParams = z.object({ schoolId: uuid })

export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
})

export type PageQuery = z.infer<typeof pageQuery>

export const pageOf = <T extends z.ZodType>(item: T) => z.object({
  items: z.array(item),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
})

export const skip = (q: PageQuery) => (q.page - 1) * q.pageSize

/** A list answer: the page's items and the total, with the paging that was asked for. */
export const paged = <T>(q: PageQuery, r: { items: T[], total: number }) => ({ items: r.items, total: r.total, page: q.page, pageSize: q.pageSize })

export const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:mm (00:00 to 23:59)')

export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a real calendar date')

export const okResponse = z.object({ ok: z.literal(true) })

export const trimmed = (max = 200) => z.string().trim().min(1).max(max)
export const optionalText = (max = 200) => z.string().trim().max(max).nullish().transform((v) => (v === '' ? null : v))
