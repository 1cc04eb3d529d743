import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { splitMultipart } from '../../lib/multipart.js'
import { parsePushBody } from './webhook.parse.js'

const sample = (name: string) => readFileSync(new URL(`../../../test/fixtures/isapi-samples/${name}`, import.meta.url))

/** The HTTP request in a .http sample: its Content-Type and body bytes. */
function httpSample (name: string) {
  const raw = sample(name)
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.subarray(0, split).toString('latin1')
  return { contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1], body: raw.subarray(split + 4) }
}

const event = (over: Record<string, unknown> = {}) => ({
  ipAddress: '10.0.0.5', macAddress: 'BC:5E:33:00:00:01', dateTime: '2026-09-01T07:55:00+05:00', eventType: 'AccessControllerEvent',
  eventState: 'active', shortSerialNumber: 'FG0000001',
  AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: '1001', serialNo: 42, currentVerifyMode: 'face' },
  ...over,
})

function multipart (parts: Array<{ name?: string, type?: string, body: Buffer | string, length?: boolean }>, boundary = 'MIME_boundary') {
  const chunks: Buffer[] = []
  for (const p of parts) {
    const body = Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body)
    const headers = [
      ...(p.name !== undefined ? [`Content-Disposition: form-data; name="${p.name}"${p.name === 'Picture' ? '; filename="Picture.jpg"' : ''}`] : []),
      ...(p.type ? [`Content-Type: ${p.type}`] : []),
      ...(p.length !== false ? [`Content-Length: ${body.length}`] : []),
    ]
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), body, Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}

describe('webhook body parsing', () => {
  it('reads the DS-K1T673 httpHosts push byte for byte (multipart, part event_log, tab-indented JSON)', () => {
    const { contentType, body } = httpSample('push_httphosts_event_log_dsk1t673_RECONSTRUCTED_bytes.http')
    const parsed = parsePushBody(body, contentType)
    expect(parsed.format).toBe('multipart')
    expect(parsed.events).toHaveLength(1)
    expect(parsed.events[0]).toMatchObject({
      eventType: 'AccessControllerEvent', macAddress: 'bc:5e:33:57:a5:cb', shortSerialNumber: 'AA8066966', ipAddress: '192.168.1.81',
      accessEvent: { major: 3, minor: 1025, serialNo: 572, frontSerialNo: 571 },
    })
  })

  it('accepts part names AccessControllerEvent and none, a missing or wrong Content-Type, and a Picture part', () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\r\n--MIME_boundary\r\nnot a boundary'), Buffer.from([0xff, 0xd9])])
    for (const name of ['event_log', 'AccessControllerEvent', undefined]) {
      const body = multipart([{ name, type: 'application/json; charset="UTF-8"', body: JSON.stringify(event()) }, { name: 'Picture', type: 'image/jpeg', body: jpeg }])
      for (const contentType of ['multipart/form-data; boundary=MIME_boundary', undefined, 'application/json', 'text/plain']) {
        const parsed = parsePushBody(body, contentType)
        expect(parsed.events[0].accessEvent).toMatchObject({ major: 5, minor: 75, employeeNo: '1001', serialNo: 42 })
        expect(parsed.picture?.equals(jpeg)).toBe(true)
      }
    }
  })

  it('splits parts without Content-Length at the boundary', () => {
    const body = multipart([{ name: 'event_log', body: JSON.stringify(event()), length: false }])
    expect(splitMultipart(body, 'MIME_boundary')).toHaveLength(1)
    expect(parsePushBody(body, 'multipart/form-data; boundary=MIME_boundary').events).toHaveLength(1)
  })

  it('reads plain JSON (whatever the label), heartbeats, and XML EventNotificationAlert', () => {
    expect(parsePushBody(Buffer.from(JSON.stringify(event())), 'text/html').format).toBe('json')
    const heartbeat = parsePushBody(Buffer.from(JSON.stringify({ ipAddress: '10.0.0.5', macAddress: 'bc:5e:33:00:00:01', eventType: 'videoloss', eventState: 'inactive', dateTime: '2026-09-01T07:55:00+05:00' })))
    expect(heartbeat.events[0]).toMatchObject({ isHeartbeat: true, accessEvent: null })
    const alert = '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><ipAddress>10.0.0.9</ipAddress><macAddress>44:19:b6:00:00:01</macAddress><dateTime>2026-09-01T07:55:00+05:00</dateTime><eventType>IO</eventType><eventState>active</eventState></EventNotificationAlert>'
    expect(parsePushBody(Buffer.from(alert), 'application/xml').events[0]).toMatchObject({ eventType: 'IO', macAddress: '44:19:b6:00:00:01', accessEvent: null })
  })

  it('refuses truncated multipart, invalid JSON, non-events and empty bodies with stable codes', () => {
    const whole = multipart([{ name: 'event_log', body: JSON.stringify(event()) }])
    const cases: Array<[Buffer, string | undefined, string]> = [
      [whole.subarray(0, whole.length - 30), 'multipart/form-data; boundary=MIME_boundary', 'WEBHOOK_BODY_INVALID'],
      [Buffer.from('{"eventType": "AccessControllerEvent",'), 'application/json', 'WEBHOOK_BODY_INVALID'],
      [Buffer.from('{"hello": "world"}'), 'application/json', 'WEBHOOK_BODY_INVALID'],
      [Buffer.from('<html></html>'), 'text/html', 'WEBHOOK_BODY_INVALID'],
      [Buffer.from('hello'), 'text/plain', 'WEBHOOK_BODY_INVALID'],
      [Buffer.alloc(0), 'application/json', 'WEBHOOK_BODY_EMPTY'],
    ]
    for (const [body, type, code] of cases) expect(() => parsePushBody(body, type)).toThrow(expect.objectContaining({ code, statusCode: 400 }))
  })
})
