import { describe, expect, it } from 'vitest'
import { decodeBody, readResponseStatus, readUserCheck } from './isapi.decode.js'
import { faceUrlPath } from './isapi.faces.js'
import {
  formatDeviceDateTime, formatPosixTimeZone, parseDeviceDateTime, parsePosixTimeZone,
} from './isapi.time.js'

describe('device time helpers', () => {
  it('parses POSIX-inverted zones: CST[+-]H[:MM[:SS]] with an optional DST suffix', () => {
    expect(parsePosixTimeZone('CST-5:00:00')).toEqual({ utcOffsetMinutes: 300, dst: undefined })
    expect(parsePosixTimeZone('CST-3:00:00')?.utcOffsetMinutes).toBe(180)
    expect(parsePosixTimeZone('CST+3:00:00')?.utcOffsetMinutes).toBe(-180)
    expect(parsePosixTimeZone('CST+4')?.utcOffsetMinutes).toBe(-240)
    expect(parsePosixTimeZone('CST-5:30')?.utcOffsetMinutes).toBe(330)
    expect(parsePosixTimeZone('CST+0:00:00')?.utcOffsetMinutes).toBe(0)
    expect(parsePosixTimeZone('CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00'))
      .toEqual({ utcOffsetMinutes: 60, dst: 'DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00' })
    expect(parsePosixTimeZone('UTC+99')).toBeUndefined()
    expect(parsePosixTimeZone('+05:00')).toBeUndefined()
  })

  it('formats zones back with the inverted sign', () => {
    expect(formatPosixTimeZone(300)).toBe('CST-5:00:00')
    expect(formatPosixTimeZone(-210)).toBe('CST+3:30:00')
    expect(formatPosixTimeZone(60, 'DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00')).toBe('CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00')
  })

  it('formats device times with the offset, never milliseconds or Z', () => {
    const t = new Date('2026-04-25T04:20:09.812Z')
    expect(formatDeviceDateTime(t, 300)).toBe('2026-04-25T09:20:09+05:00')
    expect(formatDeviceDateTime(t, -180)).toBe('2026-04-25T01:20:09-03:00')
    expect(formatDeviceDateTime(t, 0)).toBe('2026-04-25T04:20:09+00:00')
  })

  it('parses device times with padded, unpadded or missing offsets', () => {
    expect(parseDeviceDateTime('2026-04-17T18:40:26-03:00')?.toISOString()).toBe('2026-04-17T21:40:26.000Z')
    expect(parseDeviceDateTime('2026-04-17T18:40:26-6:00')?.toISOString()).toBe('2026-04-18T00:40:26.000Z')
    expect(parseDeviceDateTime('2026-04-17T18:40:26')).toBeUndefined()
    expect(parseDeviceDateTime('2026-04-17T18:40:26', 300)?.toISOString()).toBe('2026-04-17T13:40:26.000Z')
    expect(parseDeviceDateTime('yesterday')).toBeUndefined()
  })
})

describe('body sniffing and status parsing', () => {
  it('sniffs by first byte whatever the label, and reads ResponseStatus from JSON or namespaced XML', () => {
    expect(decodeBody('  \n{"a":1}')).toEqual({ kind: 'json', value: { a: 1 } })
    expect(decodeBody('\uFEFF<?xml version="1.0"?><a xmlns="urn:x"><employeeNo>007</employeeNo></a>')).toEqual({ kind: 'xml', value: { a: { employeeNo: '007' } } })
    expect(decodeBody('')).toEqual({ kind: 'empty' })
    expect(() => decodeBody('<a><b></a>')).toThrow()
    const xml = '<ResponseStatus version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema"><statusCode>4</statusCode><subStatusCode>notSupport</subStatusCode></ResponseStatus>'
    expect(readResponseStatus(decodeBody(xml))).toMatchObject({ statusCode: 4, subStatusCode: 'notSupport' })
    expect(readResponseStatus(decodeBody('{"UserInfoSearch":{}}'))).toBeUndefined()
  })

  it('reads the JSON badAuthorization flavour of a lockout', () => {
    const body = '{"statusCode":4,"statusString":"Invalid Operation","subStatusCode":"badAuthorization","errorCode":1073741827,"lockStatus":"locked","retryTimes":0,"resLockTime":1200}'
    expect(readUserCheck(decodeBody(body))).toEqual({ locked: true, unlockTime: 1200, retryLoginTime: 0, statusString: 'Invalid Operation' })
  })

  it('keeps the @WEB suffix and drops the host of a faceURL', () => {
    expect(faceUrlPath('http://192.168.1.64/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000029')).toBe('/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000029')
    expect(faceUrlPath('https://10.0.0.1:443/pic?id=1')).toBe('/pic?id=1')
    expect(faceUrlPath('/LOCALS/a.jpg')).toBe('/LOCALS/a.jpg')
    expect(faceUrlPath('not a url')).toBeUndefined()
  })
})
