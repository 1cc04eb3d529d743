import type { FastifyBaseLogger } from 'fastify'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { localDateOf, weekdayOf, zonedInstant } from '../../lib/timezone.js'

// When a student has no class, the school day is taken to start here.
export const DEFAULT_DAY_START = '08:00'

/** Whether `date` is a school day: not one of the school's weekend days and not a holiday. */
export async function isSchoolDay (db: PrismaClient, school: { id: string, weekendDays: number[] }, date: string) {
  if (school.weekendDays.includes(weekdayOf(date))) return false
  return !await db.holiday.findFirst({ where: { schoolId: school.id, date: new Date(`${date}T00:00:00Z`) }, select: { id: true } })
}

/**
 * Marks ABSENT every active student with no day row once their class's start + the school's absence
 * cutoff has passed, per school in its own timezone; weekends and holidays are skipped. A later scan
 * still turns the day into PRESENT or LATE (automatic ABSENT is not manual).
 */
export async function markAbsences (db: PrismaClient, now = new Date()) {
  const schools = await db.school.findMany({ where: { deletedAt: null }, select: { id: true, timezone: true, weekendDays: true, absenceCutoffMinutes: true } })
  let marked = 0
  for (const school of schools) {
    const date = localDateOf(now, school.timezone)
    if (!await isSchoolDay(db, school, date)) continue
    const classes = await db.class.findMany({ where: { schoolId: school.id }, select: { id: true, startTime: true } })
    const due = (start: string) => zonedInstant(date, start, school.timezone).getTime() + school.absenceCutoffMinutes * 60_000 <= now.getTime()
    const dueClassIds = classes.filter((c) => due(c.startTime)).map((c) => c.id)
    marked += await db.$executeRawUnsafe(`
      INSERT INTO daily_attendance (school_id, student_id, date, status, updated_at)
      SELECT s.school_id, s.id, $2::date, 'ABSENT', now() FROM students s
      WHERE s.school_id = $1::uuid AND s.status = 'active' AND s.deleted_at IS NULL
        AND (s.class_id = ANY($3::uuid[]) OR (s.class_id IS NULL AND $4))
      ON CONFLICT (student_id, date) DO NOTHING`, school.id, date, dueClassIds, due(DEFAULT_DAY_START))
  }
  return marked
}

export function startAbsenceSweep (db: PrismaClient, log: FastifyBaseLogger, everyMs: number) {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    markAbsences(db).catch((err) => log.error({ err }, 'absence marking failed')).finally(() => { running = false })
  }, everyMs)
  return () => clearInterval(timer)
}
