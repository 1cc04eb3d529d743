import { describe, expect, it } from 'vitest'
import { formatLocalDateTime, utcOffsetMinutes } from './timezone.js'

describe('IANA zone helpers', () => {
  it('formats a local wall-clock time (as terminals take UserInfo.Valid) and gives the offset at an instant', () => {
    expect(formatLocalDateTime(new Date('2026-01-01T00:30:00Z'), 'Asia/Tashkent')).toBe('2026-01-01T05:30:00')
    expect(formatLocalDateTime(new Date('2026-07-01T00:00:00Z'), 'America/Sao_Paulo')).toBe('2026-06-30T21:00:00')
    expect(formatLocalDateTime(new Date('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe('2026-07-01T14:00:00')
    expect(utcOffsetMinutes('Asia/Tashkent', new Date('2026-07-01T00:00:00Z'))).toBe(300)
    expect(utcOffsetMinutes('Europe/Berlin', new Date('2026-01-15T00:00:00Z'))).toBe(60)
    expect(utcOffsetMinutes('Europe/Berlin', new Date('2026-07-15T00:00:00Z'))).toBe(120)
  })
})
