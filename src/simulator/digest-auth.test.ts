import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseDigestChallenge } from '../integrations/isapi/isapi.digest.js'
import { startKit, xmlValue } from '../../test/simulator/sim-test-kit.js'

const DEVICE_INFO = '/ISAPI/System/deviceInfo'
const tags = (xml: string) => [...xml.matchAll(/<([A-Za-z]+)[ >]/g)].map((m) => m[1])

const CHALLENGE_BODY = '<?xml version="1.0" encoding="UTF-8"?>\r\n<userCheck version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n' +
  '<statusValue>401</statusValue>\r\n<statusString>Unauthorized</statusString>\r\n<isActivated>false</isActivated>\r\n</userCheck>\r\n'

describe('simulated terminal: digest challenge', () => {
  it('answers an unauthenticated request with the DS-K1T673 challenge and 235-byte userCheck', async () => {
    const { client } = await startKit()
    const res = await client.raw('GET', DEVICE_INFO)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^Digest qop="auth", realm="DS-[0-9A-F]{8}", nonce="[A-Za-z0-9+/]+=*", stale="false", opaque="", domain="::"$/)
    const ch = parseDigestChallenge(res.headers['www-authenticate'])!
    expect(ch.algorithm).toBeUndefined()
    expect(Buffer.from(ch.nonce, 'base64').toString()).toMatch(/^[0-9a-f]{32}$/)
    expect(res.headers['content-type']).toBe('application/xml')
    expect(res.text).toBe(CHALLENGE_BODY)
    expect(res.body.length).toBe(235)
  })

  it('labels the 401 of a ?format=json URL application/json and drops the XML declaration', async () => {
    const { client } = await startKit()
    const res = await client.raw('GET', '/ISAPI/AccessControl/capabilities?format=json')
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.text.startsWith('<userCheck ')).toBe(true)
    expect(res.body.length).toBe(195)
  })

  it('accepts a correct digest whose uri carries the query string', async () => {
    const { client, terminal } = await startKit()
    const res = await client.call('GET', `${DEVICE_INFO}?format=json`)
    expect(res.status).toBe(200)
    expect(xmlValue(res.text, 'serialNumber')).toBe(terminal.identity.serialNumber)
  })

  it('counts a signed uri that differs from the request line as a failed login', async () => {
    const { client, terminal } = await startKit()
    const ch = await client.challenge()
    const res = await client.authorized(ch, 'GET', `${DEVICE_INFO}?format=json`, { uri: DEVICE_INFO })
    expect(res.status).toBe(401)
    expect(terminal.snapshot().failedLogins).toBe(1)
  })
})

describe('simulated terminal: nonce expiry', () => {
  it('refuses the third use of a nonce with a userCheck 401 and no new challenge', async () => {
    const { client, terminal } = await startKit()
    const ch = await client.challenge()
    expect((await client.authorized(ch, 'GET', DEVICE_INFO, { nc: 1 })).status).toBe(200)
    expect((await client.authorized(ch, 'GET', DEVICE_INFO, { nc: 2 })).status).toBe(200)
    const third = await client.authorized(ch, 'GET', DEVICE_INFO, { nc: 3 })
    expect(third.status).toBe(401)
    expect(third.headers['www-authenticate']).toBeUndefined()
    expect(xmlValue(third.text, 'statusValue')).toBe('401')
    expect(xmlValue(third.text, 'lockStatus')).toBe('unlock')
    expect(terminal.snapshot().failedLogins).toBe(0)
  })

  it('honours a configured use limit', async () => {
    const { client } = await startKit({ nonceDiesOnUse: 2 })
    const ch = await client.challenge()
    expect((await client.authorized(ch, 'GET', DEVICE_INFO, { nc: 1 })).status).toBe(200)
    expect((await client.authorized(ch, 'GET', DEVICE_INFO, { nc: 2 })).status).toBe(401)
  })

  it('refuses a nonce older than 30 s without a challenge, and a fresh one still works', async () => {
    const { client, clock } = await startKit()
    const ch = await client.challenge()
    clock.advance(30_001)
    const stale = await client.authorized(ch, 'GET', DEVICE_INFO)
    expect(stale.status).toBe(401)
    expect(stale.headers['www-authenticate']).toBeUndefined()
    expect((await client.call('GET', DEVICE_INFO)).status).toBe(200)
  })

  it('still accepts a nonce just inside its age limit', async () => {
    const { client, clock } = await startKit()
    const ch = await client.challenge()
    clock.advance(29_999)
    expect((await client.authorized(ch, 'GET', DEVICE_INFO)).status).toBe(200)
  })

  it('refuses an unknown nonce without a challenge and without counting a failure', async () => {
    const { client, terminal } = await startKit()
    const ch = await client.challenge()
    const res = await client.authorized({ ...ch, nonce: Buffer.from('f'.repeat(32)).toString('base64') }, 'GET', DEVICE_INFO, { password: 'wrong' })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBeUndefined()
    expect(terminal.snapshot().failedLogins).toBe(0)
  })
})

describe('simulated terminal: lock-out', () => {
  it('locks after 5 wrong passwords, refuses even the right one, and unlocks after 30 minutes', async () => {
    const { client, clock, terminal } = await startKit()
    for (let i = 1; i <= 4; i++) {
      const res = await client.call('GET', DEVICE_INFO, { password: 'wrong' })
      expect(res.status).toBe(401)
      expect(xmlValue(res.text, 'lockStatus')).toBe('unlock')
      expect(xmlValue(res.text, 'retryLoginTime')).toBe(String(5 - i))
      if (i === 1) {
        const sample = readFileSync(new URL('./fixtures/usercheck_401_unlock_retry4.xml', import.meta.url), 'utf8')
        expect(tags(res.text)).toEqual(tags(sample))
        expect(res.headers['www-authenticate']).toBeUndefined()
      }
    }
    const fifth = await client.call('GET', DEVICE_INFO, { password: 'wrong' })
    expect([xmlValue(fifth.text, 'lockStatus'), xmlValue(fifth.text, 'unlockTime'), xmlValue(fifth.text, 'retryLoginTime')]).toEqual(['lock', '1800', '0'])

    const right = await client.call('GET', DEVICE_INFO)
    expect(right.status).toBe(401)
    expect(xmlValue(right.text, 'lockStatus')).toBe('lock')
    expect(terminal.snapshot().lockedUntil).toBe('2026-04-17T22:10:26.000Z')

    clock.advance(29 * 60_000)
    const later = await client.call('GET', DEVICE_INFO)
    expect([later.status, xmlValue(later.text, 'unlockTime')]).toEqual([401, '60'])

    clock.advance(60_000)
    expect((await client.call('GET', DEVICE_INFO)).status).toBe(200)
    expect(terminal.snapshot()).toMatchObject({ failedLogins: 0, lockedUntil: null })
  })

  it('does not count unauthenticated probes or a success-reset counter toward lock-out', async () => {
    const { client, terminal } = await startKit({ lockoutThreshold: 2 })
    for (let i = 0; i < 6; i++) expect((await client.raw('GET', DEVICE_INFO)).status).toBe(401)
    expect((await client.call('GET', DEVICE_INFO, { password: 'wrong' })).status).toBe(401)
    expect((await client.call('GET', DEVICE_INFO)).status).toBe(200)
    expect((await client.call('GET', DEVICE_INFO, { password: 'wrong' })).status).toBe(401)
    expect(terminal.snapshot()).toMatchObject({ failedLogins: 1, lockedUntil: null })
  })
})
