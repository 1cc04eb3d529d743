const formatters = new Map<string, Intl.DateTimeFormat>()

/** `YYYY-MM-DDTHH:mm:ss` wall-clock time in an IANA zone (terminals want local time without offset). */
export function formatLocalDateTime (at: Date, timeZone: string) {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    formatters.set(timeZone, f)
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`
}

// Offsets change at most on quarter hours (DST moves at :00 or :30): cache one per zone and quarter hour.
const QUARTER_HOUR_MS = 15 * 60_000
const offsets = new Map<string, number>()

function offsetAt (at: Date, timeZone: string) {
  const key = `${timeZone}|${Math.floor(at.getTime() / QUARTER_HOUR_MS)}`
  let offset = offsets.get(key)
  if (offset === undefined) {
    if (offsets.size > 10_000) offsets.clear()
    offset = utcOffsetMinutes(timeZone, at)
    offsets.set(key, offset)
  }
  return offset
}

/** The calendar date (YYYY-MM-DD) an instant falls on in `timeZone`. */
export const localDateOf = (at: Date, timeZone: string) => new Date(at.getTime() + offsetAt(at, timeZone) * 60_000).toISOString().slice(0, 10)

/** Minutes `timeZone` is ahead of UTC at that instant. */
export function utcOffsetMinutes (timeZone: string, at: Date) {
  const asUtc = Date.parse(`${formatLocalDateTime(at, timeZone)}Z`)
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000)
}

/** The instant a local date and wall time (HH:mm) denote in `timeZone`. */
export function zonedInstant (date: string, hhmm: string, timeZone: string) {
  const guess = new Date(`${date}T${hhmm}:00Z`)
  const first = new Date(guess.getTime() - utcOffsetMinutes(timeZone, guess) * 60_000)
  // A second pass settles instants next to a DST change.
  return new Date(guess.getTime() - utcOffsetMinutes(timeZone, first) * 60_000)
}

/** Day of week (0 = Sunday) of a YYYY-MM-DD date. */
export const weekdayOf = (date: string) => new Date(`${date}T12:00:00Z`).getUTCDay()
