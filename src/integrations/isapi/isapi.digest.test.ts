import { describe, expect, it } from 'vitest'
import { basicAuthorization, digestAuthorization, digestResponse, parseAuthParams, parseDigestChallenge } from './isapi.digest.js'

const RFC_CHALLENGE = 'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'

describe('Digest (RFC 2617 §3.5 example and Hikvision challenges)', () => {
  it('computes the RFC 2617 example response', () => {
    expect(digestResponse({
      username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', nc: '00000001', cnonce: '0a4f113b', qop: 'auth',
    })).toBe('6629fae49393a05397450978507c4ef1')
  })

  it('builds the RFC example Authorization header from the parsed challenge, choosing qop=auth', () => {
    const challenge = parseDigestChallenge(RFC_CHALLENGE)
    expect(challenge).toMatchObject({ realm: 'testrealm@host.com', qop: 'auth,auth-int', opaque: '5ccc069c403ebaf9f0171e9517f40e41' })
    const header = digestAuthorization(challenge!, { username: 'Mufasa', password: 'Circle Of Life' }, 'GET', '/dir/index.html', 1, '0a4f113b')
    const p = parseAuthParams(header.replace(/^Digest /, ''))
    expect(p).toMatchObject({ username: 'Mufasa', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b', response: '6629fae49393a05397450978507c4ef1', opaque: '5ccc069c403ebaf9f0171e9517f40e41' })
  })

  it('hashes the uri with its query string and counts nc in hex', () => {
    const challenge = { realm: 'DS-4D43F695', nonce: 'abc', qop: 'auth' }
    const h = digestAuthorization(challenge, { username: 'admin', password: 'x' }, 'PUT', '/ISAPI/AccessControl/UserInfo/Delete?format=json', 26, 'c')
    const p = parseAuthParams(h.slice(7))
    expect(p.uri).toBe('/ISAPI/AccessControl/UserInfo/Delete?format=json')
    expect(p.nc).toBe('0000001a')
    expect(p.response).toBe(digestResponse({ username: 'admin', password: 'x', method: 'PUT', uri: p.uri, realm: 'DS-4D43F695', nonce: 'abc', nc: '0000001a', cnonce: 'c', qop: 'auth' }))
    expect(p.response).not.toBe(digestResponse({ username: 'admin', password: 'x', method: 'PUT', uri: '/ISAPI/AccessControl/UserInfo/Delete', realm: 'DS-4D43F695', nonce: 'abc', nc: '0000001a', cnonce: 'c', qop: 'auth' }))
  })

  it('parses the DS-K1T673 challenge (no algorithm, empty opaque, domain="::") and the NVR variant', () => {
    const k1t = parseDigestChallenge('Digest qop="auth", realm="DS-4D43F695", nonce="OGRjYzczNTRkZjIxMmRhMzFiNGQ2MTA1ZGVkOWZlNWU=", stale="false", opaque="", domain="::"')
    expect(k1t).toEqual({ realm: 'DS-4D43F695', nonce: 'OGRjYzczNTRkZjIxMmRhMzFiNGQ2MTA1ZGVkOWZlNWU=', qop: 'auth', opaque: '', algorithm: undefined, stale: false })
    expect(parseDigestChallenge(['Basic realm="x"', 'Digest realm="r", nonce="n", algorithm="MD5", stale="FALSE"'])).toMatchObject({ algorithm: 'MD5', stale: false })
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined()
    expect(parseDigestChallenge(undefined)).toBeUndefined()
  })

  it('refuses algorithms other than MD5 and builds Basic only on request', () => {
    expect(() => digestAuthorization({ realm: 'r', nonce: 'n', algorithm: 'SHA-256' }, { username: 'a', password: 'b' }, 'GET', '/')).toThrow(/SHA-256/)
    expect(basicAuthorization({ username: 'Aladdin', password: 'open sesame' })).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')
  })
})
