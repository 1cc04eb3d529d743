import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { normaliseAccessControlCaps, normaliseEventCaps, normaliseSubscribeCaps, normaliseUserCaps } from './isapi.capabilities.js'
import { decodeBody, isOkAnswer, readResponseStatus, readUserCheck, type DecodedBody } from './isapi.decode.js'
import { parseDigestChallenge } from './isapi.digest.js'
import { deviceAnswerError } from './isapi.errors.js'
import { acsEventSearchSchema, pushEventSchema } from './isapi.events.js'
import { httpHostSlotSchema, httpHostsSchema } from './isapi.httphosts.js'
import { searchPageSchema } from './isapi.paging.js'
import { deviceInfoSchema, deviceTimeSchema, networkInterfacesSchema, timeCapabilitiesSchema } from './isapi.system.js'
import { formatDeviceDateTime, formatPosixTimeZone } from './isapi.time.js'
import { userCountSchema, userSearchSchema } from './isapi.users.js'
import { multipartParts, parseCapture, restoreJsonTabs, type CapturedMessage } from './test/capture.js'
import { z } from 'zod'

// A copy of ../shared/isapi-samples kept in the repo, so the golden tests run anywhere.
const SAMPLES = fileURLToPath(new URL('../../../test/fixtures/isapi-samples/', import.meta.url))
const read = (name: string) => readFileSync(SAMPLES + name, 'utf8')
const decoded = (text: string): DecodedBody => decodeBody(text)
const value = (text: string) => (decoded(text) as { value: unknown }).value
const root = (text: string, name: string) => (value(text) as Record<string, Record<string, unknown>>)[name]
const ctx = { deviceKey: 'sample', operation: 'golden' }

/** Every exchange of a capture, with the dump's damage checked: CR stripping only shortens by ≤1 byte per line. */
function capture (name: string) {
  const messages = parseCapture(read(name))
  for (const m of messages) {
    const length = Number(m.headers['content-length'] ?? NaN)
    const body = m.body.trimStart().startsWith('{') ? restoreJsonTabs(m.body) : m.body
    if (Number.isFinite(length)) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(length)
      expect(Buffer.byteLength(body) + body.split('\n').length - 1).toBeGreaterThanOrEqual(length)
    }
  }
  return messages
}
const bodyOf = (m: CapturedMessage) => (m.body.trimStart().startsWith('{') ? restoreJsonTabs(m.body) : m.body)
const responses = (ms: CapturedMessage[]) => ms.filter((m) => m.from === 'server')

function expectPlainChallenge (m: CapturedMessage) {
  expect(m.startLine).toBe('HTTP/1.1 401 Unauthorized')
  expect(parseDigestChallenge(m.headers['www-authenticate'])).toMatchObject({ realm: 'DS-4D43F695', qop: 'auth', opaque: '', stale: false })
  expect(readUserCheck(decoded(m.body))).toEqual({ locked: false, unlockTime: undefined, retryLoginTime: undefined, statusString: 'Unauthorized' })
}

function expectPushEvent (json: string) {
  const push = pushEventSchema.parse(JSON.parse(json))
  expect(push).toMatchObject({ eventType: 'AccessControllerEvent', macAddress: 'bc:5e:33:57:a5:cb', shortSerialNumber: 'AA8066966', ipAddress: '192.168.1.81', isHeartbeat: false })
  expect(push.accessEvent).toMatchObject({ source: 'push', major: 3, minor: 1025, serialNo: 572, frontSerialNo: 571, doorNo: 1, employeeNo: null, time: '2026-04-17T18:40:26-03:00' })
  expect(push.accessEvent?.occurredAt?.toISOString()).toBe('2026-04-17T21:40:26.000Z')
}

const GOLDEN: Record<string, () => void> = {
  'acsevent_capabilities_json_dsk1a340fwx_SHORTENED.json': () => {
    expect(normaliseEventCaps(root(read('acsevent_capabilities_json_dsk1a340fwx_SHORTENED.json'), 'AcsEvent'))).toEqual({ maxResults: 30, supportsSerialRange: true, majors: [0, 1, 2, 3, 5] })
  },
  'acsevent_search_request_dsk1a340fwx.json': () => {
    const cond = root(read('acsevent_search_request_dsk1a340fwx.json'), 'AcsEventCond')
    // Our formatter reproduces the request's accepted time form exactly.
    expect(formatDeviceDateTime(new Date('1999-12-31T21:00:00.000Z'), 180)).toBe(cond.startTime)
    expect(formatDeviceDateTime(new Date('2037-12-31T20:59:59.999Z'), 180)).toBe(cond.endTime)
    expect(cond).toMatchObject({ major: 0, minor: 0, searchResultPosition: 0 })
  },
  'acsevent_search_response_more_dsk1a340fwx.json': () => {
    const page = acsEventSearchSchema.parse(value(read('acsevent_search_response_more_dsk1a340fwx.json')))
    expect(page).toMatchObject({ searchId: 'doc-event-1', status: 'MORE', numOfMatches: 1, totalMatches: 68 })
    expect(page.items[0]).toMatchObject({ major: 2, minor: 1024, serialNo: 1, employeeNo: null, name: null, verifyMode: 'faceOrFpOrCardOrPw', attendanceStatus: 'undefined' })
    expect(page.items[0].occurredAt?.toISOString()).toBe('2026-07-05T21:33:53.000Z')
  },
  'capture_dsk1t673_get_accesscontrol_capabilities_json_returns_xml.txt': () => {
    const [challenge, ok] = responses(capture('capture_dsk1t673_get_accesscontrol_capabilities_json_returns_xml.txt'))
    expect(challenge.headers['content-type']).toBe('application/json')
    expectPlainChallenge(challenge)
    expect(ok.headers['content-type']).toBe('application/json')
    const body = decoded(ok.body)
    expect(body.kind).toBe('xml')
    expect(normaliseAccessControlCaps(root(ok.body, 'AccessControl'))).toEqual({
      supportsUserInfo: true, supportsFDLib: true, supportsAcsEvent: true, supportsCardInfo: true, supportsRemoteCheck: true, supportsUserInfoDetailDelete: true, employeeNoMaxLength: 32,
    })
  },
  'capture_dsk1t673_get_deviceinfo_digest_401_then_200.txt': () => {
    const ms = capture('capture_dsk1t673_get_deviceinfo_digest_401_then_200.txt')
    expectPlainChallenge(responses(ms)[0])
    expect(ms[2].headers.authorization).toContain('uri="/ISAPI/System/deviceInfo"')
    expect(deviceInfoSchema.parse(value(responses(ms)[1].body))).toEqual({
      deviceName: 'subdoorOne', deviceID: '255', model: 'DS-K1T673DX-BR', serialNumber: 'DS-K1T673DX-BR20260305V031800ENAA8066966', shortSerial: 'AA8066966',
      macAddress: 'bc:5e:33:57:a5:cb', firmwareVersion: 'V3.18.0', firmwareReleasedDate: 'build 260305', deviceType: 'ACS', subDeviceType: 'accessControlTerminal',
    })
  },
  'capture_dsk1t673_httphosts_push_event_log_multipart.txt': () => {
    const [post, reply] = capture('capture_dsk1t673_httphosts_push_event_log_multipart.txt')
    expect(post.headers['content-type']).toBe('multipart/form-data; boundary=MIME_boundary')
    const [part] = multipartParts(post.body, 'MIME_boundary', '\n')
    expect(part.headers['content-disposition']).toBe('form-data; name="event_log"')
    expectPushEvent(restoreJsonTabs(part.content))
    expect(reply.body).toBe('200')
  },
  'capture_dsk1t673_put_httphosts_digest_401_then_200.txt': () => {
    const ms = capture('capture_dsk1t673_put_httphosts_digest_401_then_200.txt')
    expect(httpHostsSchema.parse(value(ms[0].body))).toEqual([{
      id: '1', url: '/w-access', protocolType: 'HTTP', parameterFormatType: 'JSON', addressingFormatType: 'ipaddress', hostName: null,
      ipAddress: '192.168.1.138', portNo: 15501, httpAuthenticationMethod: 'none', isEmpty: false,
    }])
    expectPlainChallenge(responses(ms)[0])
    const status = readResponseStatus(decoded(responses(ms)[1].body))
    expect(status).toEqual({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok', errorCode: undefined, errorMsg: undefined })
    expect(isOkAnswer(200, status)).toBe(true)
  },
  'capture_dsk1t673_put_remotecheck_json_statuscode1.txt': () => {
    const ms = capture('capture_dsk1t673_put_remotecheck_json_statuscode1.txt')
    expect(JSON.parse(ms[0].body)).toEqual({ RemoteCheck: { serialNo: 587, checkResult: 'failed' } })
    const [challenge, ok] = responses(ms)
    expect(challenge.headers['content-type']).toBe('application/json')
    expectPlainChallenge(challenge)
    const status = readResponseStatus(decoded(bodyOf(ok)))
    expect(status).toMatchObject({ statusCode: 1, statusString: 'OK', subStatusCode: 'ok' })
    expect(isOkAnswer(200, status)).toBe(true)
  },
  'capture_dsk1t673_put_system_time_xml.txt': () => {
    const ms = capture('capture_dsk1t673_put_system_time_xml.txt')
    const time = deviceTimeSchema.parse(value(ms[0].body))
    expect(time).toMatchObject({ timeMode: 'manual', timeZone: 'CST+3:00:00', zoneOffsetMinutes: -180, utcOffsetMinutes: -180, dst: null })
    expect(time.deviceTime?.toISOString()).toBe('2026-04-17T22:23:42.000Z')
    expect(formatPosixTimeZone(-180)).toBe('CST+3:00:00')
    expect(isOkAnswer(200, readResponseStatus(decoded(responses(ms)[1].body)))).toBe(true)
  },
  'cardinfo_search_response_no_match_dsk1a340fwx.json': () => {
    const page = searchPageSchema('CardInfoSearch', 'CardInfo', z.unknown()).parse(value(read('cardinfo_search_response_no_match_dsk1a340fwx.json')))
    expect(page).toEqual({ searchId: 'doc-card-1', status: 'NO MATCH', numOfMatches: 0, totalMatches: 0, items: [] })
  },
  'httphosts_get_response_empty_slot_dsk1a340fwx.xml': () => {
    expect(httpHostsSchema.parse(value(read('httphosts_get_response_empty_slot_dsk1a340fwx.xml')))).toEqual([{
      id: '1', url: null, protocolType: 'HTTP', parameterFormatType: 'XML', addressingFormatType: 'ipaddress', hostName: null,
      ipAddress: '0.0.0.0', portNo: 0, httpAuthenticationMethod: 'none', isEmpty: true,
    }])
  },
  'httphosts_put_single_request_dsk1a340fwx.xml': () => {
    expect(httpHostSlotSchema.parse(value(read('httphosts_put_single_request_dsk1a340fwx.xml')))).toMatchObject({ id: '1', ipAddress: '192.168.1.2', portNo: 8088, isEmpty: false })
  },
  'network_interfaces_get_response_dsk1a340fwx.xml': () => {
    expect(networkInterfacesSchema.parse(value(read('network_interfaces_get_response_dsk1a340fwx.xml')))).toEqual([{
      id: 1, ipVersion: 'v4', addressingType: 'static', ipAddress: '192.0.0.64', subnetMask: '255.255.255.0', gateway: '192.0.0.1',
      primaryDns: '8.8.8.8', secondaryDns: '8.8.4.4', macAddress: '40:24:b2:e7:46:04',
    }])
  },
  'push_httphosts_event_log_dsk1t673_RECONSTRUCTED_bytes.http': () => {
    const raw = readFileSync(SAMPLES + 'push_httphosts_event_log_dsk1t673_RECONSTRUCTED_bytes.http')
    const headEnd = raw.indexOf('\r\n\r\n')
    const body = raw.subarray(headEnd + 4)
    expect(body.length).toBe(972)
    const [part] = multipartParts(body.toString('utf8'), 'MIME_boundary')
    expect(Buffer.byteLength(part.content)).toBe(Number(part.headers['content-length']))
    expectPushEvent(part.content)
  },
  'responsestatus_json_statuscode6_MessageParametersLack_UserInfo.json': () => {
    const status = readResponseStatus(decoded(read('responsestatus_json_statuscode6_MessageParametersLack_UserInfo.json')))
    expect(status).toEqual({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'MessageParametersLack', errorCode: 1610612761, errorMsg: 'UserInfo' })
    expect(deviceAnswerError(ctx, 400, status)).toMatchObject({ code: 'DEVICE_REJECTED', subStatusCode: 'MessageParametersLack', errorMsg: 'UserInfo' })
  },
  'responsestatus_xml_statuscode6_badXmlContent.xml': () => {
    const status = readResponseStatus(decoded(read('responsestatus_xml_statuscode6_badXmlContent.xml')))
    expect(status).toMatchObject({ statusCode: 6, statusString: 'Invalid XML Content', subStatusCode: 'badXmlContent' })
    expect(isOkAnswer(200, status)).toBe(false)
    expect(deviceAnswerError(ctx, 200, status).code).toBe('DEVICE_REJECTED')
  },
  'subscribeeventcap_xml_dsk1a340fwx.xml': () => {
    expect(normaliseSubscribeCaps(root(read('subscribeeventcap_xml_dsk1a340fwx.xml'), 'SubscribeEventCap'))).toEqual({
      heartbeatMaxSeconds: 30, eventModes: ['all', 'list'], eventTypes: ['AccessControllerEvent'], pictureURLTypes: ['binary'],
    })
  },
  'system_time_capabilities_dsk1a340fwx.xml': () => {
    expect(timeCapabilitiesSchema.parse(value(read('system_time_capabilities_dsk1a340fwx.xml')))).toEqual({ timeModes: ['NTP', 'manual'], timeTypes: ['local', 'UTC'] })
  },
  'system_time_get_response_ntp_dsk1a340fwx.xml': () => {
    const time = deviceTimeSchema.parse(value(read('system_time_get_response_ntp_dsk1a340fwx.xml')))
    expect(time).toMatchObject({ timeMode: 'NTP', timeZone: 'CST-3:00:00', zoneOffsetMinutes: 180, utcOffsetMinutes: 180, clockLooksReset: false })
    expect(time.deviceTime?.toISOString()).toBe('2026-07-13T16:14:08.000Z')
  },
  'usercheck_401_unlock_retry4.xml': () => {
    expect(readUserCheck(decoded(read('usercheck_401_unlock_retry4.xml')))).toEqual({ locked: false, unlockTime: 0, retryLoginTime: 4, statusString: 'Unauthorized' })
  },
  'userinfo_capabilities_json_dsk1a340fwx.json': () => {
    expect(normaliseUserCaps(root(read('userinfo_capabilities_json_dsk1a340fwx.json'), 'UserInfo'))).toEqual({
      maxResults: 30, employeeNoMaxLength: 32, nameMaxLength: 128, maxRecordNum: 1500, deleteBatchMax: 30, supportsSetUp: true, supportsModify: true, genders: ['male', 'female', 'unknown'],
    })
  },
  'userinfo_count_response_dsk1a340fwx.json': () => {
    expect(userCountSchema.parse(value(read('userinfo_count_response_dsk1a340fwx.json')))).toEqual({ userNumber: 1, bindFaceUserNumber: null })
  },
  'userinfo_search_request_dsk1a340fwx.json': () => {
    expect(Object.keys(root(read('userinfo_search_request_dsk1a340fwx.json'), 'UserInfoSearchCond')).sort()).toEqual(['maxResults', 'searchID', 'searchResultPosition'])
  },
  'userinfo_search_response_ok_dsk1a340fwx.json': () => {
    const page = userSearchSchema.parse(value(read('userinfo_search_response_ok_dsk1a340fwx.json')))
    expect(page).toMatchObject({ searchId: 'doc-probe-user-1', status: 'OK', numOfMatches: 1, totalMatches: 1 })
    expect(page.items).toEqual([{
      employeeNo: '1', name: 'admin', userType: 'normal', gender: null, doorRight: '1', rightPlan: [{ doorNo: 1, planTemplateNo: '1' }], localUIRight: true,
      valid: { enable: true, beginTime: '2026-07-06T00:38:29', endTime: '2037-12-31T23:59:59', timeType: 'local' },
      numOfCard: 0, numOfFP: 1, numOfFace: 1, faceURL: null,
    }])
  },
}

describe('golden: every payload in isapi-samples parses with our decoders', () => {
  const files = readdirSync(SAMPLES).filter((f) => f !== 'SOURCES.md').sort()

  it('has a golden check for every sample file', () => {
    expect(Object.keys(GOLDEN).sort()).toEqual(files)
  })

  it.each(files)('%s', (file) => {
    GOLDEN[file]()
  })
})
