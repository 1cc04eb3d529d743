import type { PrismaClient } from '../../generated/prisma/client.js'
import { daySummaryColumns } from './attendance.schemas.js'
import { FEED_PAGE, LATE_COMMIT_MS } from './events.feed.js'

interface DayVersion { studentId: string, date: Date, updatedAt: Date }
const versionOf = (d: DayVersion) => `${d.studentId}/${d.date.toISOString()}@${d.updatedAt.getTime()}`
const oldestFirst = [{ updatedAt: 'asc' as const }, { studentId: 'asc' as const }, { date: 'asc' as const }]

/**
 * A school's changed day summaries, each version returned once, including one committed late: a
 * recompute stamps rows with its transaction's start, which can be well before it commits. Every call
 * re-reads only the versions (key and updatedAt) stamped within LATE_COMMIT_MS, skips those it has
 * returned and reads the oldest FEED_PAGE of the others in full. The rest wait for the next call, which
 * reads back to the oldest of them even when that is more than LATE_COMMIT_MS ago.
 */
export async function openDayFeed (db: PrismaClient, schoolId: string, scope: { studentId?: { in: string[] } }) {
  const returned = new Map<string, number>()
  // At most returned.size of the rows read were returned, so this many hold the page and the first one after it.
  const versionsSince = (from: number) => db.dailyAttendance.findMany({
    where: { schoolId, updatedAt: { gte: new Date(from) }, ...scope },
    select: { studentId: true, date: true, updatedAt: true }, orderBy: oldestFirst, take: FEED_PAGE + 1 + returned.size,
  })
  let waitingSince = Infinity
  const horizon = () => Math.min(Date.now() - LATE_COMMIT_MS, waitingSince)
  const remember = (days: DayVersion[]) => {
    for (const d of days) returned.set(versionOf(d), d.updatedAt.getTime())
    const from = horizon()
    for (const [version, at] of returned) if (at < from) returned.delete(version)
  }

  // What is there when the feed opens is not a change.
  remember(await versionsSince(horizon()))
  return async function next () {
    const fresh = (await versionsSince(horizon())).filter((d) => !returned.has(versionOf(d)))
    const page = fresh.slice(0, FEED_PAGE)
    waitingSince = fresh[FEED_PAGE]?.updatedAt.getTime() ?? Infinity
    // A row changed since its version was read comes back newer; that newer version is what is sent.
    const days = page.length === 0
      ? []
      : await db.dailyAttendance.findMany({
        where: { schoolId, OR: page.map(({ studentId, date }) => ({ studentId, date })) }, select: { ...daySummaryColumns, updatedAt: true }, orderBy: oldestFirst,
      })
    remember(days)
    return days
  }
}
