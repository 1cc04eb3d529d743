import { z } from 'zod'
import type { Prisma } from '../../generated/prisma/client.js'
import { pageQuery, uuid } from '../../lib/schemas.js'

export const eventsQuery = pageQuery.extend({
  studentId: uuid.optional(),
  classId: uuid.optional(),
  deviceId: uuid.optional(),
  direction: z.enum(['in', 'out']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  matched: z.stringbool().optional().describe('true: events of a known student; false: unknown employeeNo or sender'),
})

export const eventSchema = z.object({
  id: z.string(),
  deviceId: z.uuid().nullable(),
  studentId: z.uuid().nullable(),
  employeeNo: z.string().nullable(),
  direction: z.enum(['in', 'out', 'both']),
  occurredAt: z.string().describe('ISO instant'),
  serialNo: z.number().int().nullable(),
  major: z.number().int(),
  minor: z.number().int(),
  kind: z.string(),
  countsForAttendance: z.boolean(),
  matched: z.boolean(),
  source: z.string(),
}).meta({ id: 'AttendanceEvent' })

/** The columns an event is read with for `toEventDto` (not its raw payload). */
export const eventColumns = {
  id: true, deviceId: true, studentId: true, employeeNo: true, direction: true, occurredAt: true, serialNo: true,
  major: true, minor: true, kind: true, countsForAttendance: true, source: true,
} satisfies Prisma.AttendanceEventSelect

type EventRow = Prisma.AttendanceEventGetPayload<{ select: typeof eventColumns }>

/** An event as the list and the live stream give it. */
export const toEventDto = (e: EventRow): z.infer<typeof eventSchema> => ({
  id: String(e.id), deviceId: e.deviceId, studentId: e.studentId, employeeNo: e.employeeNo, direction: e.direction,
  occurredAt: e.occurredAt.toISOString(), serialNo: e.serialNo, major: e.major, minor: e.minor, kind: e.kind,
  countsForAttendance: e.countsForAttendance, matched: e.studentId !== null, source: e.source,
})
