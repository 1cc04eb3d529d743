import type { DbClient } from '../../lib/db.js'
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

export interface DayKey { schoolId: string, studentId: string, date: string }

/**
 * Recomputes students' days from their stored pass events, so late-arriving (back-filled) events land
 * correctly. A whole batch costs four queries. A manual status (EXCUSED) stays; only the scan facts
 * are refreshed under it. Inactive students' days are left alone.
 */
export async function recomputeDays (db: DbClient, keys: DayKey[], repeatScanSeconds: number) {
  const unique = [...new Map(keys.map((k) => [`${k.studentId}:${k.date}`, k])).values()]
  if (unique.length === 0) return 0
  const students = await db.student.findMany({
    where: { id: { in: [...new Set(unique.map((k) => k.studentId))] }, status: 'active', deletedAt: null },
    select: { id: true, class: { select: { startTime: true } }, school: { select: { timezone: true, lateThresholdMinutes: true } } },
  })
  const byId = new Map(students.map((s) => [s.id, s]))
  const wanted = unique.filter((k) => byId.has(k.studentId))
  if (wanted.length === 0) return 0
  const windows = wanted.map((k) => {
    const from = zonedInstant(k.date, '00:00', byId.get(k.studentId)!.school.timezone)
    return { from, to: new Date(from.getTime() + 36 * 3_600_000) }
  })
  const events = await db.attendanceEvent.findMany({
    where: {
      studentId: { in: wanted.map((k) => k.studentId) }, countsForAttendance: true,
      occurredAt: { gte: new Date(Math.min(...windows.map((w) => w.from.getTime()))), lt: new Date(Math.max(...windows.map((w) => w.to.getTime()))) },
    },
    select: { studentId: true, occurredAt: true, direction: true },
  })
  const rows = []
  for (const k of wanted) {
    const s = byId.get(k.studentId)!
    const tz = s.school.timezone
    const scans = events.filter((e) => e.studentId === k.studentId && localDateOf(e.occurredAt, tz) === k.date)
      .map((e) => ({ at: e.occurredAt, direction: e.direction === 'out' ? 'out' as const : 'in' as const }))
    if (scans.length === 0) continue
    const day = summariseDay(scans, {
      classStart: s.class ? zonedInstant(k.date, s.class.startTime, tz) : null,
      lateThresholdMinutes: s.school.lateThresholdMinutes,
      repeatScanSeconds,
    })
    rows.push({
      school_id: k.schoolId, student_id: k.studentId, date: k.date, status: day.status,
      first_in_at: day.firstInAt?.toISOString() ?? null, last_out_at: day.lastOutAt?.toISOString() ?? null, in_school: day.inSchool,
      scan_count: day.scanCount, late_minutes: day.lateMinutes, minutes_on_premises: day.minutesOnPremises,
    })
  }
  if (rows.length === 0) return 0
  return db.$executeRawUnsafe(`
    INSERT INTO daily_attendance (school_id, student_id, date, status, first_in_at, last_out_at, in_school, scan_count, late_minutes, minutes_on_premises, updated_at)
    SELECT school_id, student_id, date, status::"AttendanceStatus", first_in_at, last_out_at, in_school, scan_count, late_minutes, minutes_on_premises, now()
    FROM jsonb_to_recordset($1::jsonb) AS x(school_id uuid, student_id uuid, date date, status text, first_in_at timestamptz, last_out_at timestamptz,
      in_school boolean, scan_count int, late_minutes int, minutes_on_premises int)
    ON CONFLICT (student_id, date) DO UPDATE SET
      status = CASE WHEN daily_attendance.manual THEN daily_attendance.status ELSE EXCLUDED.status END,
      first_in_at = EXCLUDED.first_in_at, last_out_at = EXCLUDED.last_out_at, in_school = EXCLUDED.in_school, scan_count = EXCLUDED.scan_count,
      late_minutes = EXCLUDED.late_minutes, minutes_on_premises = EXCLUDED.minutes_on_premises, updated_at = now()`, JSON.stringify(rows))
}
