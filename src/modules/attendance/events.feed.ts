import type { PrismaClient } from '../../generated/prisma/client.js'
import { eventColumns } from './events.schemas.js'

/**
 * How long a transaction may still commit events after it began: longer than the event processor's
 * 60-second transaction timeout. Processors run in several processes, so a batch holding lower ids can
 * commit after a batch holding higher ids has already been read.
 */
export const LATE_COMMIT_MS = 90_000
/** The most rows one call of a feed reads in full; a larger burst goes out over the next calls. */
export const FEED_PAGE = 500

/**
 * A school's new events, each returned once, including those committed late with ids below ones already
 * returned. Every call re-reads the lowest ids above a floor, skips those it has returned and reads the
 * lowest FEED_PAGE of the others in full. The floor rises to the highest id that existed LATE_COMMIT_MS ago
 * (nothing at or below it can still commit), but never past an id not yet returned, so what it remembers
 * is about that long of events plus any backlog.
 */
export async function openEventFeed (db: PrismaClient, schoolId: string, scope: { studentId?: { in: string[] } }) {
  // Every id returned is above the floor, so this many ids hold the page and the first one after it.
  const idsAbove = async (floor: bigint) =>
    (await db.attendanceEvent.findMany({
      where: { schoolId, id: { gt: floor }, ...scope }, select: { id: true }, orderBy: { id: 'asc' }, take: FEED_PAGE + 1 + returned.size,
    })).map((e) => e.id)
  const highestId = async () => (await db.attendanceEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0n

  // What is there when the feed opens is not new (the primary key answers this at once; a late
  // commit in the first moments, below that id, is the one thing the feed can miss).
  let floor = await highestId()
  let settled = floor
  const returned = new Set<bigint>()
  const highest: Array<{ at: number, id: bigint }> = []

  return async function next () {
    const readAt = Date.now()
    const fresh = (await idsAbove(floor)).filter((id) => !returned.has(id))
    const page = fresh.slice(0, FEED_PAGE)
    const events = page.length === 0 ? [] : await db.attendanceEvent.findMany({ where: { id: { in: page } }, select: eventColumns, orderBy: { id: 'asc' } })
    for (const id of page) returned.add(id)
    highest.push({ id: await highestId(), at: Date.now() })
    while (highest[0].at <= readAt - LATE_COMMIT_MS) settled = highest.shift()!.id
    const waiting = fresh[FEED_PAGE]
    floor = waiting !== undefined && waiting - 1n < settled ? waiting - 1n : settled
    for (const id of returned) if (id <= floor) returned.delete(id)
    return events
  }
}
