import { z } from 'zod'
import type { Prisma } from '../../generated/prisma/client.js'
import { isoDate, pageQuery, uuid } from '../../lib/schemas.js'

export const attendanceStatuses = ['PRESENT', 'LATE', 'ABSENT', 'EXCUSED'] as const

export const rangeQuery = z.object({
  from: isoDate.optional().describe('School-local date, default today'),
  to: isoDate.optional().describe('School-local date (inclusive), default = from'),
  classId: uuid.optional(),
  status: z.enum(attendanceStatuses).optional(),
})
export const attendanceListQuery = pageQuery.extend(rangeQuery.shape)
export type RangeQuery = z.infer<typeof rangeQuery>
export type AttendanceListQuery = z.infer<typeof attendanceListQuery>

export const statsQuery = z.object({ by: z.enum(['hour', 'day', 'class', 'device']), from: isoDate.optional(), to: isoDate.optional(), classId: uuid.optional() })
export const exportQuery = rangeQuery.extend({ format: z.enum(['csv', 'xlsx']).default('csv') })

export const dayRecordSchema = z.object({
  studentId: z.uuid(),
  employeeNo: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  classId: z.uuid().nullable(),
  className: z.string().nullable(),
  date: z.string(),
  status: z.enum(attendanceStatuses),
  firstInAt: z.string().nullable(),
  lastOutAt: z.string().nullable(),
  inSchool: z.boolean(),
  scanCount: z.number().int(),
  lateMinutes: z.number().int(),
  minutesOnPremises: z.number().int(),
  manual: z.boolean(),
  note: z.string().nullable(),
}).meta({ id: 'DailyAttendance' })

/** What the live stream sends for a changed day: the day's own facts, without the student's details. */
export const daySummaryColumns = {
  studentId: true, date: true, status: true, inSchool: true, scanCount: true, firstInAt: true, lastOutAt: true, lateMinutes: true,
} satisfies Prisma.DailyAttendanceSelect
type DaySummaryRow = Prisma.DailyAttendanceGetPayload<{ select: typeof daySummaryColumns }>

/** A day as the live stream gives it, and the day's part of a full record (keys in the order the stream has always sent). */
export const toDaySummaryDto = (d: DaySummaryRow): Pick<z.infer<typeof dayRecordSchema>, keyof typeof daySummaryColumns> => ({
  studentId: d.studentId, date: d.date.toISOString().slice(0, 10), status: d.status, inSchool: d.inSchool, scanCount: d.scanCount,
  firstInAt: d.firstInAt?.toISOString() ?? null, lastOutAt: d.lastOutAt?.toISOString() ?? null, lateMinutes: d.lateMinutes,
})

export const manualBody = z.object({ status: z.enum(attendanceStatuses), note: z.string().trim().max(500).nullish() })
export const bulkBody = manualBody.extend({ date: isoDate, studentIds: z.array(uuid).min(1).max(2000) })
export const manualParams = z.object({ schoolId: uuid, studentId: uuid, date: isoDate })

const counts = { total: z.number().int(), present: z.number().int(), late: z.number().int(), absent: z.number().int(), excused: z.number().int(), notYetArrived: z.number().int() }
export const todaySchema = z.object({
  date: z.string(),
  timezone: z.string(),
  schoolDay: z.boolean(),
  totals: z.object(counts),
  classes: z.array(z.object({ classId: z.uuid().nullable(), className: z.string().nullable(), ...counts })),
  inSchoolNow: z.array(z.object({ studentId: z.uuid(), firstName: z.string(), lastName: z.string(), classId: z.uuid().nullable(), since: z.string().nullable() })),
}).meta({ id: 'AttendanceToday' })

export const statsSchema = z.object({
  by: z.enum(['hour', 'day', 'class', 'device']),
  from: z.string(),
  to: z.string(),
  rows: z.array(z.object({ key: z.string().nullable(), label: z.string().nullable(), scans: z.number().int().optional(), present: z.number().int().optional(), late: z.number().int().optional(), absent: z.number().int().optional(), excused: z.number().int().optional() })),
}).meta({ id: 'AttendanceStats' })
