import type { DailyAttendance, PrismaClient } from '../../generated/prisma/client.js'
import { LATE_COMMIT_MS } from './events.feed.js'

const versionOf = (d: DailyAttendance) => `${d.studentId}/${d.date.toISOString()}@${d.updatedAt.getTime()}`

/**
 * A school's changed day summaries, each version returned once, including one committed late: a
 * recompute stamps rows with its transaction's start, which can be well before it commits. Every
 * call re-reads the rows stamped within LATE_COMMIT_MS and skips the versions it has returned.
 */
export async function openDayFeed (db: PrismaClient, schoolId: string, scope: { studentId?: { in: string[] } }) {
  const recent = () => db.dailyAttendance.findMany({
    where: { schoolId, updatedAt: { gte: new Date(Date.now() - LATE_COMMIT_MS) }, ...scope }, orderBy: { updatedAt: 'asc' },
  })
  const returned = new Map<string, number>()
  const remember = (days: DailyAttendance[]) => {
    for (const d of days) returned.set(versionOf(d), d.updatedAt.getTime())
    const horizon = Date.now() - LATE_COMMIT_MS
    for (const [version, at] of returned) if (at < horizon) returned.delete(version)
    return days
  }
  // What is there when the feed opens is not a change.
  remember(await recent())
  return async () => remember((await recent()).filter((d) => !returned.has(versionOf(d))))
}
