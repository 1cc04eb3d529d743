const pad = (n: number, width = 2) => String(Math.trunc(Math.abs(n))).padStart(width, '0')

export function formatUtcOffset (offsetMinutes: number) {
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/**
 * `YYYY-MM-DDTHH:mm:ss±hh:mm` in the device's offset: the only form every firmware accepts for
 * AcsEvent/Time (milliseconds and `Z` are rejected with badJsonContent on several models).
 */
export function formatDeviceDateTime (date: Date, offsetMinutes: number) {
  const shifted = new Date(date.getTime() + offsetMinutes * 60_000)
  const d = shifted.toISOString().slice(0, 19)
  return `${d}${formatUtcOffset(offsetMinutes)}`
}

export interface PosixTimeZone {
  /** Standard-time offset in minutes east of UTC (the POSIX sign inverted). */
  utcOffsetMinutes: number
  /** The DST rule suffix as sent by the device (`DST01:00:00,M3.5.0/...`), if any. */
  dst?: string
}

const POSIX_TZ = /^\s*([A-Za-z]{3,}|<[^>]+>)([+-]?)(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?(.*)$/

/**
 * Parses Hikvision's POSIX-style `timeZone` (`CST-3:00:00` = UTC+03:00, `CST+4` = UTC-04:00,
 * optional `DST…` suffix). POSIX counts hours west of Greenwich, hence the inversion.
 */
export function parsePosixTimeZone (value: string): PosixTimeZone | undefined {
  const m = POSIX_TZ.exec(value)
  if (!m) return undefined
  const [, , sign, h, mm = '0', ss = '0', rest] = m
  const west = Number(h) * 60 + Number(mm) + Math.round(Number(ss) / 60)
  if (Number(h) > 24 || Number(mm) > 59 || Number(ss) > 59) return undefined
  const utcOffsetMinutes = sign === '-' ? west : -west
  const dst = rest.trim()
  if (dst && !/^[A-Za-z]/.test(dst)) return undefined
  return { utcOffsetMinutes: utcOffsetMinutes === 0 ? 0 : utcOffsetMinutes, dst: dst || undefined }
}

/** `CST-5:00:00` for UTC+05:00; appends the device's DST suffix unchanged when given. */
export function formatPosixTimeZone (utcOffsetMinutes: number, dst?: string) {
  const west = -utcOffsetMinutes
  const abs = Math.abs(west)
  return `CST${west < 0 ? '-' : '+'}${Math.floor(abs / 60)}:${pad(abs % 60)}:00${dst ?? ''}`
}

const DEVICE_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{1,2}(?::?\d{2})?)?$/

export function offsetOfDeviceDateTime (value: string): number | undefined {
  const tz = DEVICE_DATE_TIME.exec(value.trim())?.[7]
  if (!tz) return undefined
  if (tz === 'Z') return 0
  const m = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(tz)
  if (!m) return undefined
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0)
  return m[1] === '-' ? -minutes : minutes
}

/**
 * Parses a device date-time. Uses the offset it carries (padded or not), else `fallbackOffsetMinutes`;
 * without either the instant is unknown and the result is undefined.
 */
export function parseDeviceDateTime (value: string, fallbackOffsetMinutes?: number): Date | undefined {
  const m = DEVICE_DATE_TIME.exec(value.trim())
  if (!m) return undefined
  const offset = offsetOfDeviceDateTime(value) ?? fallbackOffsetMinutes
  if (offset === undefined) return undefined
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - offset * 60_000
  return Number.isNaN(utc) ? undefined : new Date(utc)
}

export const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/
