import { z } from 'zod'
import { isoDate, pageQuery, trimmed, uuid } from '../../lib/schemas.js'

export const holidayBody = z.object({ date: isoDate, name: trimmed(200) })
export const updateHolidayBody = holidayBody.partial()
export type HolidayInput = z.infer<typeof holidayBody>

export const holidayParams = z.object({ schoolId: uuid, holidayId: uuid })
export const holidayListQuery = pageQuery.extend({ from: isoDate.optional(), to: isoDate.optional().describe('Inclusive') })
export type HolidayListQuery = z.infer<typeof holidayListQuery>

export const holidaySchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid(),
  date: z.string().describe('YYYY-MM-DD, a school-local date'),
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'Holiday' })
