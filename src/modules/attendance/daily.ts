import type { PrismaClient } from '../../generated/prisma/client.js'
import { localDateOf, zonedInstant } from '../../lib/timezone.js'

export interface Scan { at: Date, direction: 'in' | 'out' }
export interface DayRules {
  /** When the student's class starts that day (null: no class, so never late). */
  classStart: Date | null
  lateThresholdMinutes: number
  /** A repeat scan this soon after the last counted one (same direction) is kept as an event but not counted. */
  repeatScanSeconds: number
}

/** The day's summary from its pass events (pure: the same scans always give the same day). */
export function summariseDay (scans: Scan[], rules: DayRules) {
  const sorted = [...scans].sort((a, b) => a.at.getTime() - b.at.getTime())
  const counted: Scan[] = []
  for (const s of sorted) {
    const last = counted.at(-1)
    if (last && last.direction === s.direction && s.at.getTime() - last.at.getTime() < rules.repeatScanSeconds * 1000) continue
    counted.push(s)
  }
  const firstIn = counted.find((s) => s.direction === 'in') ?? counted[0]
  const lastOut = [...counted].reverse().find((s) => s.direction === 'out')
  let minutes = 0
  let openIn: Date | null = null
  for (const s of counted) {
    if (s.direction === 'in') openIn ??= s.at
    else if (openIn) {
      minutes += (s.at.getTime() - openIn.getTime()) / 60_000
      openIn = null
    }
  }
  const lateBy = rules.classStart && firstIn ? (firstIn.at.getTime() - rules.classStart.getTime()) / 60_000 : 0
  const late = lateBy > rules.lateThresholdMinutes
  return {
    status: late ? 'LATE' as const : 'PRESENT' as const,
    firstInAt: firstIn?.at ?? null,
    lastOutAt: lastOut?.at ?? null,
    inSchool: counted.at(-1)?.direction === 'in',
    scanCount: counted.length,
    lateMinutes: late ? Math.floor(lateBy) : 0,
    minutesOnPremises: Math.floor(minutes),
  }
}

/**
 * Recomputes one student's day from its stored pass events, so late-arriving (back-filled) events
 * land correctly. A manual status (EXCUSED) stays; only the scan facts are refreshed under it.
 */
export async function recomputeDay (db: PrismaClient, o: { schoolId: string, studentId: string, date: string, repeatScanSeconds: number }) {
  const student = await db.student.findUnique({
    where: { id: o.studentId },
    select: { status: true, deletedAt: true, class: { select: { startTime: true } }, school: { select: { timezone: true, lateThresholdMinutes: true } } },
  })
  if (!student || student.status !== 'active' || student.deletedAt) return null
  const tz = student.school.timezone
  const from = zonedInstant(o.date, '00:00', tz)
  const to = new Date(from.getTime() + 36 * 3_600_000)
  const events = await db.attendanceEvent.findMany({
    where: { studentId: o.studentId, countsForAttendance: true, occurredAt: { gte: from, lt: to } },
    select: { occurredAt: true, direction: true },
  })
  const scans = events.filter((e) => localDateOf(e.occurredAt, tz) === o.date)
    .map((e) => ({ at: e.occurredAt, direction: e.direction === 'out' ? 'out' as const : 'in' as const }))
  if (scans.length === 0) return null
  const day = summariseDay(scans, {
    classStart: student.class ? zonedInstant(o.date, student.class.startTime, tz) : null,
    lateThresholdMinutes: student.school.lateThresholdMinutes,
    repeatScanSeconds: o.repeatScanSeconds,
  })
  const date = new Date(`${o.date}T00:00:00Z`)
  const key = { studentId_date: { studentId: o.studentId, date } }
  const existing = await db.dailyAttendance.findUnique({ where: key })
  const { status, ...facts } = day
  if (existing?.manual) return db.dailyAttendance.update({ where: key, data: facts })
  return db.dailyAttendance.upsert({ where: key, create: { schoolId: o.schoolId, studentId: o.studentId, date, status, ...facts }, update: { status, ...facts } })
}
