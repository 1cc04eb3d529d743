import { z } from 'zod'
import { optionalText, trimmed } from '../../lib/schemas.js'

export const isValidTimeZone = (tz: string) => {
  // Newer ICU accepts UTC offsets such as "+05:00" as a timeZone; they are not IANA zones
  // (no DST rules, and Postgres reads POSIX offsets with the opposite sign).
  if (!/^[A-Za-z]/.test(tz)) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz }).format()
    return true
  } catch {
    return false
  }
}

const timezone = z.string().trim().refine(isValidTimeZone, 'must be an IANA time zone such as Asia/Tashkent')

const schoolFields = {
  name: trimmed(200),
  code: z.string().trim().min(2).max(32).regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, - and _'),
  timezone,
  lateThresholdMinutes: z.number().int().min(0).max(600),
  absenceCutoffMinutes: z.number().int().min(1).max(1440),
  weekendDays: z.array(z.number().int().min(0).max(6)).max(6)
    .transform((d) => [...new Set(d)].sort())
    .describe('Days off, 0 = Sunday … 6 = Saturday'),
  address: optionalText(500),
  phone: optionalText(40),
  email: z.email().nullish(),
}

export const createSchoolBody = z.object({
  ...schoolFields,
  lateThresholdMinutes: schoolFields.lateThresholdMinutes.default(15),
  absenceCutoffMinutes: schoolFields.absenceCutoffMinutes.default(180),
  weekendDays: schoolFields.weekendDays.default([0]),
})
export const updateSchoolBody = z.object(schoolFields).partial()

export type CreateSchoolInput = z.infer<typeof createSchoolBody>
export type UpdateSchoolInput = z.infer<typeof updateSchoolBody>

export const schoolSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  code: z.string(),
  timezone: z.string(),
  lateThresholdMinutes: z.number().int(),
  absenceCutoffMinutes: z.number().int(),
  weekendDays: z.array(z.number().int()),
  address: z.string().nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'School' })
export type SchoolDto = z.infer<typeof schoolSchema>
