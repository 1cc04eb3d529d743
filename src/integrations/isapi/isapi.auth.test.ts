import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createIsapiDeviceRegistry } from './isapi.registry.js'
import { startFakeDevice, userCheckXml, xml, type FakeDevice } from './test/fake-device.js'
import { DEVICE_INFO_XML, captureError, clientFactory } from './test/helpers.js'

const f = clientFactory()
const devices: FakeDevice[] = []
const fake = async (o: Parameters<typeof startFakeDevice>[0]) => {
  const d = await startFakeDevice(o)
  devices.push(d)
  return d
}
afterEach(async () => { await Promise.all(devices.splice(0).map((d) => d.close())) })
afterAll(() => f.close())

const deviceInfo = () => xml(DEVICE_INFO_XML)

describe('ISAPI Digest against a fake terminal', () => {
  it('reuses the cached nonce with an increasing nc and sends the query string in uri', async () => {
    const dev = await fake({ route: () => xml(DEVICE_INFO_XML) })
    const client = f.make(dev.url)
    await client.getDeviceInfo()
    await client.getCapabilities().catch(() => undefined)
    const authed = dev.requests.filter((r) => r.authorization)
    expect(authed[0].authorization).toMatch(/nc=00000001/)
    expect(authed[1].authorization).toMatch(/nc=00000002/)
    expect(authed[2].authorization).toContain('uri="/ISAPI/AccessControl/capabilities?format=json"')
    expect(dev.requests.filter((r) => r.outcome === 'challenge')).toHaveLength(1)
  })

  it('a 401 without challenge after a cached nonce (stale) re-challenges once, then succeeds', async () => {
    const dev = await fake({ nonceDiesOnUse: 2, route: deviceInfo })
    const client = f.make(dev.url)
    await client.getDeviceInfo()
    const info = await client.getDeviceInfo()
    expect(info.serialNumber).toBe('DS-K1T673DX-BR20260305V031800ENAA8066966')
    expect(dev.requests.map((r) => r.outcome)).toEqual(['challenge', 'ok', 'stale', 'challenge', 'ok'])
  })

  it('learns how many uses the device allows a nonce, so later writes are never sent twice', async () => {
    const dev = await fake({ nonceDiesOnUse: 3, route: () => ({ status: 200, body: '{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}' }) })
    const client = f.make(dev.url)
    const user = (no: string) => ({ employeeNo: no, name: 'A', valid: { beginTime: '2024-09-01T00:00:00', endTime: '2030-01-01T00:00:00' } })
    for (let i = 0; i < 3; i++) await client.createUser(user(String(i)))
    const before = dev.requests.filter((r) => r.method === 'POST').length
    expect(before).toBe(4) // the third write met the dead nonce once: that is how the limit is learned
    for (let i = 3; i < 9; i++) await client.createUser(user(String(i)))
    const writes = dev.requests.filter((r) => r.method === 'POST').slice(before)
    expect(writes).toHaveLength(6)
    expect(writes.every((r) => r.outcome === 'ok')).toBe(true)
  })

  it('renewAuth(n) fetches a challenge between writes unless the cached nonce lasts n more calls, so writes never meet a 401', async () => {
    const dev = await fake({ nonceDiesOnUse: 3, route: () => ({ status: 200, body: '{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}' }) })
    const client = f.make(dev.url)
    const user = (no: string) => ({ employeeNo: no, name: 'A', valid: { beginTime: '2024-09-01T00:00:00', endTime: '2030-01-01T00:00:00' } })
    await client.createUser(user('1'))
    await client.renewAuth(1) // the cached nonce has uses left (no limit learned yet): nothing to do
    expect(dev.requests.map((r) => r.outcome)).toEqual(['challenge', 'ok'])
    for (let i = 2; i < 4; i++) await client.createUser(user(String(i))) // the 3rd use dies: the limit (2) is learned
    // '3' went through on a fresh nonce, which has one use left: enough for one call, not for two.
    const learned = dev.requests.length
    expect(client.renewAuth(1)).toBeUndefined() // nothing to send, and nothing to wait for
    expect(dev.requests).toHaveLength(learned)
    // Asking ahead does not take the nonce from a call already queued: that call still uses its last use.
    const queued = client.createUser(user('queued'))
    await Promise.all([queued, client.renewAuth(2)])
    expect(dev.requests.slice(learned).map((r) => [r.method, r.outcome])).toEqual([['POST', 'ok'], ['GET', 'challenge']])
    for (let person = 0; person < 5; person++) {
      const before = dev.requests.length
      await client.renewAuth(2)
      const renewed = dev.requests.slice(before)
      // The first person goes on the challenge fetched just above, unused, so it lasts both calls.
      expect(renewed.map((r) => [r.method, r.outcome, r.authorization])).toEqual(person === 0 ? [] : [['GET', 'challenge', undefined]])
      await client.createUser(user(`${person}a`))
      await client.createUser(user(`${person}b`))
      // Both calls of the person went through at the first try, on the challenge fetched ahead.
      expect(dev.requests.slice(before + renewed.length).map((r) => r.outcome)).toEqual(['ok', 'ok'])
    }
  })

  it('renewAuth spends no login: with a wrong password it only probes, and a locked account is not contacted', async () => {
    const dev = await fake({ nonceDiesOnUse: 2, route: deviceInfo })
    const wrong = f.make(dev.url, { password: 'wrong' })
    await wrong.renewAuth()
    await wrong.renewAuth() // the challenge fetched is still unused: nothing sent
    expect(dev.requests.map((r) => r.outcome)).toEqual(['challenge'])
    expect(await captureError(wrong.getDeviceInfo())).toMatchObject({ code: 'DEVICE_AUTH_FAILED' })
    expect(dev.failedLogins).toBe(1)
    const sent = dev.requests.length
    await wrong.renewAuth() // refused locally during the cool-down
    expect(dev.requests).toHaveLength(sent)
  })

  it('a stale 401 that carries a new challenge is answered with that challenge, no probe', async () => {
    const dev = await fake({ nonceDiesOnUse: 2, staleWithChallenge: true, route: deviceInfo })
    const client = f.make(dev.url)
    await client.getDeviceInfo()
    await client.getDeviceInfo()
    expect(dev.requests.map((r) => r.outcome)).toEqual(['challenge', 'ok', 'stale', 'ok'])
  })

  it('never sends a write body unauthenticated: the fresh-challenge probe is a GET deviceInfo', async () => {
    const dev = await fake({ route: () => ({ status: 200, body: '{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}' }) })
    const client = f.make(dev.url)
    await client.createUser({ employeeNo: '7', name: 'A', valid: { beginTime: '2024-09-01T00:00:00', endTime: '2030-01-01T00:00:00' } })
    const unauth = dev.requests.filter((r) => !r.authorization)
    expect(unauth).toEqual([expect.objectContaining({ method: 'GET', url: '/ISAPI/System/deviceInfo', body: Buffer.alloc(0) })])
    expect(dev.requests.at(-1)).toMatchObject({ method: 'POST', url: '/ISAPI/AccessControl/UserInfo/Record?format=json', outcome: 'ok' })
  })

  it('a wrong password costs exactly one failed login per operation and fails DEVICE_AUTH_FAILED', async () => {
    const dev = await fake({ password: 'other', route: deviceInfo })
    const client = f.make(dev.url, { authFailureCooldownMs: 0 })
    const first = await captureError(client.getDeviceInfo())
    expect(first).toMatchObject({ code: 'DEVICE_AUTH_FAILED', retryLoginTime: 4 })
    expect(dev.authAttempts).toBe(1)
    const second = await captureError(client.createUser({ employeeNo: '1', name: 'x', valid: { beginTime: '2024-01-01T00:00:00', endTime: '2030-01-01T00:00:00' } }))
    expect(second.code).toBe('DEVICE_AUTH_FAILED')
    expect(dev.authAttempts).toBe(2)
    expect(dev.failedLogins).toBe(2)
    expect(dev.requests.filter((r) => !r.authorization).every((r) => r.body.length === 0)).toBe(true)
  })

  it('after a rejected login, later calls with the same credentials are refused locally during the cool-down', async () => {
    const dev = await fake({ password: 'other', route: deviceInfo })
    const registry = createIsapiDeviceRegistry()
    const client = f.make(dev.url, { registry })
    await captureError(client.getDeviceInfo())
    const again = await captureError(f.make(dev.url, { registry }).getCapabilities())
    expect(again).toMatchObject({ code: 'DEVICE_AUTH_FAILED', local: true })
    expect(dev.authAttempts).toBe(1)
    const corrected = f.make(dev.url, { registry, password: 'other' })
    expect((await corrected.getDeviceInfo()).model).toBe('DS-K1T673DX-BR')
  })

  it('a 401 to a cached nonce is retried once with a fresh challenge; a 401 to that is final (password changed on the device)', async () => {
    const dev = await fake({ route: deviceInfo })
    const client = f.make(dev.url)
    await client.getDeviceInfo()
    dev.setPassword('changed')
    const err = await captureError(client.getDeviceInfo())
    expect(err.code).toBe('DEVICE_AUTH_FAILED')
    expect(dev.requests.map((r) => r.outcome)).toEqual(['challenge', 'ok', 'rejected', 'rejected'])
    expect(await captureError(client.getDeviceInfo())).toMatchObject({ code: 'DEVICE_AUTH_FAILED', local: true })
    expect(dev.requests).toHaveLength(4)
  })

  it('a locked userCheck fails DEVICE_LOCKED with unlockAt, and later calls are refused without contacting the device', async () => {
    const now = Date.UTC(2026, 3, 17, 12, 0, 0)
    const locked = userCheckXml('<lockStatus>lock</lockStatus>\n<unlockTime>1800</unlockTime>\n<retryLoginTime>0</retryLoginTime>\n')
    const dev = await fake({ password: 'other', failedLoginBody: () => locked, route: deviceInfo })
    const client = f.make(dev.url, { now: () => now })
    const err = await captureError(client.getDeviceInfo())
    expect(err.code).toBe('DEVICE_LOCKED')
    expect(err.unlockAt?.toISOString()).toBe('2026-04-17T12:30:00.000Z')
    const count = dev.requests.length
    expect(await captureError(client.getDeviceInfo())).toMatchObject({ code: 'DEVICE_LOCKED', local: true })
    expect(dev.requests.length).toBe(count)
  })

  it('a locked probe answer stops before any login attempt', async () => {
    const locked = await fake({
      requireAuth: false,
      route: () => ({ status: 401, body: userCheckXml('<lockStatus>lock</lockStatus><unlockTime>600</unlockTime>') }),
    })
    const err = await captureError(f.make(locked.url).getDeviceInfo())
    expect(err.code).toBe('DEVICE_LOCKED')
    expect(locked.authAttempts).toBe(0)
    expect(locked.requests).toHaveLength(1)
  })

  it('Basic is used only when configured, and a 401 to it is final', async () => {
    const dev = await fake({ requireAuth: false, route: (req) => (req.headers.authorization === `Basic ${Buffer.from('admin:Secret123').toString('base64')}` ? deviceInfo() : { status: 401, body: userCheckXml() }) })
    expect((await f.make(dev.url, { authMode: 'basic' }).getDeviceInfo()).shortSerial).toBe('AA8066966')
    const err = await captureError(f.make(dev.url, { authMode: 'basic', password: 'bad' }).getDeviceInfo())
    expect(err.code).toBe('DEVICE_AUTH_FAILED')
    expect(dev.requests.map((r) => r.authorization?.split(' ')[0])).toEqual(['Basic', 'Basic'])
  })

  it('a device that offers no Digest challenge is an auth failure without any login attempt', async () => {
    const dev = await fake({ requireAuth: false, route: () => ({ status: 401, body: '', headers: { 'www-authenticate': 'Basic realm="x"' } }) })
    const err = await captureError(f.make(dev.url).getDeviceInfo())
    expect(err.code).toBe('DEVICE_AUTH_FAILED')
    expect(dev.authAttempts).toBe(0)
  })
})
