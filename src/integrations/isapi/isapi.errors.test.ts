import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { deviceAnswerError, transportError, type DeviceStatusInfo } from './isapi.errors.js'
import { json, startFakeDevice, xml, type FakeDevice } from './test/fake-device.js'
import { DEVICE_INFO_XML, clientFactory } from './test/helpers.js'

const ctx = { deviceKey: '10.0.0.5:80', operation: 'test' }
const errno = (code: string) => Object.assign(new Error(code), { code })

describe('error mapping', () => {
  it.each([
    [200, { statusCode: 4, subStatusCode: 'notSupport' }, 'DEVICE_NOT_SUPPORTED'],
    [405, { statusCode: 4, subStatusCode: 'methodNotAllowed' }, 'DEVICE_NOT_SUPPORTED'],
    [200, { statusCode: 4 }, 'DEVICE_NOT_SUPPORTED'],
    [404, undefined, 'DEVICE_NOT_SUPPORTED'],
    [503, undefined, 'DEVICE_BUSY'],
    [200, { statusCode: 2, subStatusCode: 'deviceBusy' }, 'DEVICE_BUSY'],
    [400, { statusCode: 6, subStatusCode: 'employeeNoAlreadyExist' }, 'USER_EXISTS'],
    [400, { statusCode: 6, subStatusCode: 'employeeNoNotExist' }, 'USER_NOT_FOUND'],
    [400, { statusCode: 6, subStatusCode: 'deviceUserAlreadyExistFace' }, 'FACE_EXISTS'],
    [400, { statusCode: 6, subStatusCode: 'faceDataExist' }, 'FACE_EXISTS'],
    [400, { statusCode: 6, subStatusCode: 'noFaceDetected' }, 'FACE_REJECTED'],
    [400, { statusCode: 6, subStatusCode: 'faceQualityTooLow' }, 'FACE_REJECTED'],
    [400, { statusCode: 6, subStatusCode: 'urlDownloadFail' }, 'FACE_REJECTED'],
    [400, { statusCode: 6, subStatusCode: 'faceNumFull' }, 'FACE_REJECTED'],
    [400, { statusCode: 6, subStatusCode: 'badJsonContent', errorMsg: 'employeeNo' }, 'DEVICE_REJECTED'],
    [200, { statusCode: 4, subStatusCode: 'invalidOperation' }, 'DEVICE_REJECTED'],
    [500, undefined, 'DEVICE_REJECTED'],
  ] as Array<[number, DeviceStatusInfo | undefined, string]>)('HTTP %i with %j → %s', (status, body, code) => {
    const err = deviceAnswerError(ctx, status, body)
    expect(err).toMatchObject({ code, httpStatus: status, deviceKey: '10.0.0.5:80', operation: 'test', subStatusCode: body?.subStatusCode })
  })

  it.each([
    ['ECONNREFUSED', false, 'DEVICE_UNREACHABLE'],
    ['EHOSTUNREACH', false, 'DEVICE_UNREACHABLE'],
    ['ENOTFOUND', false, 'DEVICE_UNREACHABLE'],
    ['ECONNRESET', false, 'DEVICE_UNREACHABLE'],
    ['UND_ERR_SOCKET', false, 'DEVICE_UNREACHABLE'],
    ['UND_ERR_CONNECT_TIMEOUT', false, 'DEVICE_UNREACHABLE'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false, 'DEVICE_UNREACHABLE'],
    ['UND_ERR_HEADERS_TIMEOUT', false, 'DEVICE_TIMEOUT'],
    ['UND_ERR_BODY_TIMEOUT', false, 'DEVICE_TIMEOUT'],
    ['ABORT_ERR', true, 'DEVICE_TIMEOUT'],
  ] as const)('%s (timed out: %s) → %s', (code, timedOut, expected) => {
    expect(transportError(ctx, errno(code), timedOut).code).toBe(expected)
  })

  it('finds the errno in a wrapped cause', () => {
    const wrapped = Object.assign(new Error('fetch failed'), { cause: errno('EHOSTUNREACH') })
    expect(transportError(ctx, wrapped, false).message).toContain('EHOSTUNREACH')
  })
})

const f = clientFactory()
const devices: FakeDevice[] = []
afterEach(async () => { await Promise.all(devices.splice(0).map((d) => d.close())) })
afterAll(() => f.close())

describe('capability probes', () => {
  it('treat an unsupported probe as absent and keep the others', async () => {
    const dev = await startFakeDevice({
      route: (req) => {
        if (req.path === '/ISAPI/AccessControl/UserInfo/capabilities') {
          return json({ UserInfo: { supportFunction: { '@opt': 'post,delete,put,get' }, UserInfoSearchCond: { maxResults: { '@min': 1, '@max': 20 } }, name: { '@max': 32 } } })
        }
        if (req.path === '/ISAPI/AccessControl/capabilities') {
          return { status: 200, contentType: 'application/json', body: '<AccessControl><isSupportUserInfo>true</isSupportUserInfo><isSupportFDLib>true</isSupportFDLib><isSupportAcsEvent>false</isSupportAcsEvent></AccessControl>' }
        }
        if (req.path === '/ISAPI/Event/notification/httpHosts') return xml('<HttpHostNotificationList><HttpHostNotification><id>1</id></HttpHostNotification><HttpHostNotification><id>2</id></HttpHostNotification></HttpHostNotificationList>')
        return req.path.includes('AcsEvent') ? json({ statusCode: 4, subStatusCode: 'notSupport' }) : { status: 404, body: '' }
      },
    })
    devices.push(dev)
    const caps = await f.make(dev.url).getCapabilities()
    expect(caps.probes).toEqual({ system: false, accessControl: true, users: true, events: false, subscribe: false, httpHosts: true })
    expect(caps).toMatchObject({ supportsUserInfo: true, supportsFDLib: true, supportsAcsEvent: false, subscribe: null, httpHosts: { supported: true, slotIds: ['1', '2'] } })
    expect(caps.users).toMatchObject({ maxResults: 20, nameMaxLength: 32, employeeNoMaxLength: 32, supportsSetUp: false, supportsModify: true })
  })

  it('stop at the first auth failure instead of spending one login per probe', async () => {
    const dev = await startFakeDevice({ password: 'other', route: () => xml(DEVICE_INFO_XML) })
    devices.push(dev)
    await expect(f.make(dev.url).getCapabilities()).rejects.toMatchObject({ code: 'DEVICE_AUTH_FAILED' })
    expect(dev.authAttempts).toBe(1)
  })
})
