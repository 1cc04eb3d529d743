import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createManualClock, startSimulatedTerminal, type SimulatedTerminal, type SimulatedTerminalOptions } from '../../simulator/index.js'
import type { IsapiClientOptions } from './isapi.client.js'
import { captureError, clientFactory } from './test/helpers.js'

const f = clientFactory()
const sims: SimulatedTerminal[] = []
const sim = async (o: SimulatedTerminalOptions = {}) => {
  const s = await startSimulatedTerminal(o)
  sims.push(s)
  return s
}
const clientFor = (s: SimulatedTerminal, extra: Partial<IsapiClientOptions> = {}) => f.make(s.url, { username: s.username, password: s.password, ...extra })
afterEach(async () => { await Promise.all(sims.splice(0).map((s) => s.close())) })
afterAll(() => f.close())

const jpeg = (color: { r: number, g: number, b: number }) =>
  sharp({ create: { width: 120, height: 120, channels: 3, background: color } }).jpeg({ quality: 80 }).toBuffer()
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const user = (employeeNo: string, name = `Student ${employeeNo}`) => ({ employeeNo, name, valid: { beginTime: '2024-09-01T00:00:00', endTime: '2030-06-30T23:59:59' } })

describe('ISAPI client against the terminal simulator', () => {
  it('survives nonces that die on the 3rd use and after 30 s, without a single failed login', async () => {
    const clock = createManualClock(Date.UTC(2026, 3, 17, 8, 0, 0))
    const s = await sim({ now: clock.now })
    const client = clientFor(s)
    for (let i = 0; i < 8; i++) {
      expect((await client.getDeviceInfo()).serialNumber).toBe(s.identity.serialNumber)
      if (i % 3 === 2) clock.advance(31_000)
    }
    const snap = s.snapshot()
    expect(snap.failedLogins).toBe(0)
    expect(snap.lockedUntil).toBeNull()
    expect(snap.requests.filter((r) => r.status === 401).length).toBeGreaterThan(1)
  })

  it('a wrong password costs one failed login per operation and never locks the terminal', async () => {
    const s = await sim()
    const noCooldown = clientFor(s, { password: 'wrong', authFailureCooldownMs: 0 })
    for (let i = 0; i < 4; i++) expect((await captureError(noCooldown.countUsers())).code).toBe('DEVICE_AUTH_FAILED')
    expect(s.snapshot().failedLogins).toBe(4)
    expect(s.snapshot().lockedUntil).toBeNull()
    expect(await clientFor(s).countUsers()).toMatchObject({ userNumber: 0 })

    const guarded = clientFor(s, { password: 'wrong' })
    for (let i = 0; i < 10; i++) expect((await captureError(guarded.getDeviceInfo())).code).toBe('DEVICE_AUTH_FAILED')
    expect(s.snapshot().failedLogins).toBe(1)
    expect(s.snapshot().lockedUntil).toBeNull()
  })

  it('reports DEVICE_LOCKED with the unlock time when the terminal locks the account', async () => {
    const clock = createManualClock(Date.UTC(2026, 3, 17, 8, 0, 0))
    const s = await sim({ now: clock.now, lockoutThreshold: 1, lockoutMs: 10 * 60_000 })
    const err = await captureError(clientFor(s, { password: 'wrong', now: clock.now }).getDeviceInfo())
    expect(err.code).toBe('DEVICE_LOCKED')
    expect(err.unlockAt?.toISOString()).toBe('2026-04-17T08:10:00.000Z')
  })

  it('creates and pages 75 users (≤30 per page) and deletes them in batches', async () => {
    const s = await sim()
    const client = clientFor(s)
    const ids = Array.from({ length: 75 }, (_, i) => String(1000 + i))
    for (const id of ids) await client.createUser(user(id))
    expect((await client.countUsers()).userNumber).toBe(75)
    const listed = await client.listUsers()
    expect(listed.map((u) => u.employeeNo).sort()).toEqual(ids)
    expect((await client.searchUsers()).items.length).toBeLessThanOrEqual(30)
    expect((await captureError(client.createUser(user('1000')))).code).toBe('USER_EXISTS')
    expect(await client.upsertUser(user('1000', 'Renamed'), { setUp: true })).toBe('upserted')
    expect((await client.getUser('1000'))?.name).toBe('Renamed')
    await client.deleteUsers(ids.slice(0, 40))
    expect((await client.listUsers()).map((u) => u.employeeNo)).toEqual(ids.slice(40))
    await Promise.all(Array.from({ length: 10 }, (_, i) => clientFor(s, { registry: undefined }).getUser(ids[40 + i])))
    // The terminal counts requests in flight at arrival: the client never had two outstanding.
    expect(s.snapshot().maxConcurrentRequests).toBe(1)
  })

  it('uploads a face as multipart, refuses a second one, replaces it with FDSetUp and downloads it back', async () => {
    const s = await sim()
    const client = clientFor(s)
    await client.createUser(user('42'))
    const first = await jpeg({ r: 200, g: 150, b: 120 })
    const second = await jpeg({ r: 90, g: 60, b: 40 })
    await client.addFace('42', { image: first })
    expect((await captureError(client.addFace('42', { image: second }))).code).toBe('FACE_EXISTS')
    await client.replaceFace('42', { image: second })
    const face = await client.getFace('42')
    expect(face?.faceURL).toMatch(/@WEB\d+$/)
    const downloaded = await client.downloadFace(face!.faceURL!)
    expect(sha256(downloaded.bytes)).toBe(sha256(second))
    expect((await captureError(client.addFace('43', { image: first }))).code).toBe('USER_NOT_FOUND')
    await client.deleteFaces(['42'])
    expect(await client.getFace('42')).toBeNull()
  })

  it('returns AcsEvent results sorted by serialNo, with time filters in the device offset', async () => {
    const s = await sim({ timeZone: 'CST-5:00:00' })
    const client = clientFor(s)
    await client.createUser(user('7'))
    await client.addFace('7', { image: await jpeg({ r: 1, g: 2, b: 3 }) })
    for (let i = 0; i < 40; i++) await s.recordFaceEvent({ employeeNo: i % 2 ? '7' : '999' })
    const time = await client.getTime()
    expect(time).toMatchObject({ timeZone: 'CST-5:00:00', utcOffsetMinutes: 300 })
    const events = await client.fetchEvents({ major: 5 })
    const serials = events.map((e) => e.serialNo ?? 0)
    expect(serials).toEqual([...serials].sort((a, b) => a - b))
    expect(events).toHaveLength(40)
    expect(events.filter((e) => e.minor === 75).every((e) => e.employeeNo === '7')).toBe(true)
    const page = await client.searchEvents({ major: 5 })
    expect(page.items.map((e) => e.serialNo)).toEqual([...page.items.map((e) => e.serialNo)].sort((a, b) => (a ?? 0) - (b ?? 0)))
    const from = events[10].serialNo!
    expect((await client.fetchEvents({ beginSerialNo: from })).map((e) => e.serialNo)).toEqual(serials.filter((n) => n >= from))
    const windowed = await client.fetchEvents({ startTime: new Date(Date.now() - 3_600_000), endTime: new Date(Date.now() + 3_600_000), deviceUtcOffsetMinutes: time.utcOffsetMinutes! })
    expect(windowed.length).toBeGreaterThanOrEqual(40)
  })

  it('reads identity, capabilities and changes one httpHosts slot', async () => {
    const s = await sim()
    const client = clientFor(s)
    const info = await client.getDeviceInfo()
    expect(info.macAddress).toBe(s.identity.macAddress.toLowerCase())
    const caps = await client.getCapabilities()
    expect(caps.users).toMatchObject({ maxResults: 30, supportsSetUp: true })
    expect(caps.supportsAcsEvent).toBe(true)
    const before = await client.getHttpHosts()
    const slot = before[before.length - 1]
    const after = await client.setHttpHost(slot.id, { url: '/hik/events/abc', ipAddress: '127.0.0.1', portNo: 9999, parameterFormatType: 'JSON' })
    expect(after).toMatchObject({ id: slot.id, url: '/hik/events/abc', ipAddress: '127.0.0.1', portNo: 9999 })
    const others = (await client.getHttpHosts()).filter((h) => h.id !== slot.id)
    expect(others).toEqual(before.filter((h) => h.id !== slot.id))
  })

  it('reads status and network, sets NTP and the time zone, and reads them back', async () => {
    const s = await sim({ timeZone: 'CST-5:00:00' })
    const client = clientFor(s)
    expect((await client.getStatus()).currentDeviceTime).toMatch(/\+05:00$/)
    const [nic] = await client.getNetworkInterfaces()
    expect(nic.macAddress).toBe(s.identity.macAddress.toLowerCase())
    expect(await client.getTimeCapabilities()).toEqual({ timeModes: ['NTP', 'manual'], timeTypes: ['local', 'UTC'] })
    await client.setNtpServer({ id: 1, addressingFormatType: 'hostname', hostName: 'pool.ntp.org', synchronizeIntervalMinutes: 30 })
    expect((await client.getNtpServers())[0]).toMatchObject({ id: 1, hostName: 'pool.ntp.org', synchronizeIntervalMinutes: 30 })
    await client.setTime({ timeMode: 'manual', utcOffsetMinutes: 180 })
    const time = await client.getTime()
    expect(time).toMatchObject({ timeMode: 'manual', timeZone: 'CST-3:00:00', utcOffsetMinutes: 180 })
    expect(Math.abs(time.deviceTime!.getTime() - Date.now())).toBeLessThan(10 * 60_000)
  })
})
