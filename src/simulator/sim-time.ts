import type { ManualClock } from './sim.types.js'

/** A clock tests move by hand; pass `clock.now` as options.now. */
export function createManualClock (start: number | string | Date = Date.UTC(2026, 0, 1)): ManualClock {
  let t = typeof start === 'number' ? start : new Date(start).getTime()
  if (!Number.isFinite(t)) throw new Error('invalid clock start')
  return {
    now: () => t,
    advance: (ms: number) => { t += ms },
    set: (epochMs: number) => { t = epochMs },
  }
}

const POSIX_TZ = /^[A-Za-z]{3,}([+-])?(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?(DST.*)?$/

/**
 * Minutes east of UTC for a Hikvision POSIX-style zone. The sign is inverted
 * (CST-5:00:00 is UTC+05:00). DST rules are accepted but not applied.
 */
export function parsePosixTimeZone (tz: string): number | undefined {
  const m = POSIX_TZ.exec(tz.trim())
  if (!m) return undefined
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0)
  if (Number(m[2]) > 14 || Number(m[3] ?? 0) > 59 || Number(m[4] ?? 0) > 59) return undefined
  return m[1] === '-' ? minutes : -minutes
}

export function formatOffset (offsetMinutes: number) {
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** Device-local time with its offset, the only form terminals print: 2026-04-17T18:40:26-03:00. */
export function formatLocalTime (epochMs: number, offsetMinutes: number) {
  return `${formatLocalNoOffset(epochMs, offsetMinutes)}${formatOffset(offsetMinutes)}`
}

export function formatLocalNoOffset (epochMs: number, offsetMinutes: number) {
  const d = new Date(Math.floor(epochMs / 1000) * 1000 + offsetMinutes * 60_000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

const ISAPI_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?$/

/**
 * Parses YYYY-MM-DDTHH:mm:ss with an optional ±hh:mm offset (device offset when
 * absent). Milliseconds are never accepted; `Z` only when allowZ is set,
 * because AcsEvent on real firmware rejects it.
 */
export function parseIsapiTime (value: unknown, deviceOffset: number, allowZ = false): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = ISAPI_TIME.exec(value)
  if (!m) return undefined
  if (m[7] === 'Z' && !allowZ) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number)
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined
  let offset = deviceOffset
  if (m[7] === 'Z') offset = 0
  else if (m[7]) offset = (m[7][0] === '-' ? -1 : 1) * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(4, 6)))
  return Date.UTC(y, mo - 1, d, h, mi, s) - offset * 60_000
}

function pad (n: number) {
  return String(n).padStart(2, '0')
}
