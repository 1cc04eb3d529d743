import { describe, expect, it } from 'vitest'
import { localDateOf, utcOffsetMinutes, zonedInstant } from '../../lib/timezone.js'
import { summariseDay } from './daily.js'

const at = (iso: string) => new Date(iso)
const rules = { classStart: at('2026-09-01T03:00:00Z'), lateThresholdMinutes: 15, repeatScanSeconds: 60 }

describe('daily attendance summary', () => {
  it('is PRESENT within the threshold and LATE after it, counting late minutes from the class start', () => {
    expect(summariseDay([{ at: at('2026-09-01T03:10:00Z'), direction: 'in' }], rules)).toMatchObject({ status: 'PRESENT', lateMinutes: 0, inSchool: true })
    expect(summariseDay([{ at: at('2026-09-01T03:20:30Z'), direction: 'in' }], rules)).toMatchObject({ status: 'LATE', lateMinutes: 20 })
    expect(summariseDay([{ at: at('2026-09-01T09:00:00Z'), direction: 'in' }], { ...rules, classStart: null })).toMatchObject({ status: 'PRESENT' })
  })

  it('ignores repeat scans inside the interval, pairs in/out for time on premises, and knows who is still in', () => {
    const day = summariseDay([
      { at: at('2026-09-01T02:55:00Z'), direction: 'in' },
      { at: at('2026-09-01T02:55:20Z'), direction: 'in' },
      { at: at('2026-09-01T07:00:00Z'), direction: 'out' },
      { at: at('2026-09-01T07:30:00Z'), direction: 'in' },
      { at: at('2026-09-01T08:00:00Z'), direction: 'out' },
    ], rules)
    expect(day).toMatchObject({ status: 'PRESENT', scanCount: 4, inSchool: false, minutesOnPremises: 275 })
    expect(day.firstInAt?.toISOString()).toBe('2026-09-01T02:55:00.000Z')
    expect(day.lastOutAt?.toISOString()).toBe('2026-09-01T08:00:00.000Z')
    // Order of arrival does not matter (back-filled events come late).
    expect(summariseDay([...[
      { at: at('2026-09-01T08:00:00Z'), direction: 'out' as const },
      { at: at('2026-09-01T02:55:00Z'), direction: 'in' as const },
    ]], rules)).toMatchObject({ inSchool: false, scanCount: 2 })
  })
})

describe('school-local time', () => {
  it('puts 23:59:59+05:00 on its own local day, and a UTC midnight on the next day east of UTC', () => {
    expect(localDateOf(at('2026-09-01T23:59:59+05:00'), 'Asia/Tashkent')).toBe('2026-09-01')
    expect(localDateOf(at('2026-09-01T19:00:00Z'), 'Asia/Tashkent')).toBe('2026-09-02')
    expect(localDateOf(at('2026-09-01T02:00:00Z'), 'America/Sao_Paulo')).toBe('2026-08-31')
  })

  it('finds the instant of a local wall time, across DST and odd offsets', () => {
    expect(zonedInstant('2026-09-01', '08:00', 'Asia/Tashkent').toISOString()).toBe('2026-09-01T03:00:00.000Z')
    expect(zonedInstant('2026-07-01', '08:00', 'Europe/Bucharest').toISOString()).toBe('2026-07-01T05:00:00.000Z')
    expect(zonedInstant('2026-01-15', '08:00', 'Europe/Bucharest').toISOString()).toBe('2026-01-15T06:00:00.000Z')
    expect(zonedInstant('2026-09-01', '08:00', 'Asia/Kathmandu').toISOString()).toBe('2026-09-01T02:15:00.000Z')
    expect(utcOffsetMinutes('Asia/Kathmandu', at('2026-09-01T00:00:00Z'))).toBe(345)
  })
})
