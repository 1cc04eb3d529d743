import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { addDevice, startTerminal } from '../../../test/helpers/terminals.js'

describe('devices against simulated terminals: connection test, discovery, status', () => {
  let app: TestApp
  let schoolA: { id: string }
  let schoolB: { id: string }
  let adminA: Record<string, string>
  let adminB: Record<string, string>
  const url = (schoolId: string, id: string, suffix = '') => `/api/v1/schools/${schoolId}/devices/${id}${suffix}`
  const testConnection = (schoolId: string, id: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: url(schoolId, id, '/test-connection'), headers })

  beforeAll(async () => {
    app = await buildTestApp()
    schoolA = await createSchool(app)
    schoolB = await createSchool(app)
    adminA = (await signedInAs(app, 'SCHOOL_ADMIN', schoolA.id)).headers
    adminB = (await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)).headers
  })

  it('discovers the deviceId (the serial, not deviceID 255), stores identity and capabilities, and turns online', async () => {
    const terminal = await startTerminal({ index: 1 })
    const device = await addDevice(app, adminA, schoolA.id, terminal)
    expect(device).toMatchObject({ deviceId: null, status: 'offline' })

    const res = await testConnection(schoolA.id, device.id, adminA)
    expect(res.statusCode).toBe(200)
    const body = res.json()
    const { identity } = terminal
    expect(body.deviceIdDiscovered).toBe(true)
    expect(body.deviceIdChanged).toBeNull()
    expect(body.deviceInfo).toMatchObject({ serialNumber: identity.serialNumber, shortSerial: identity.shortSerial, model: identity.model })
    expect(body.device).toMatchObject({
      deviceId: identity.serialNumber,
      serialNumber: identity.serialNumber,
      macAddress: identity.macAddress.toLowerCase(),
      model: identity.model,
      firmware: identity.firmwareVersion,
      status: 'online',
      lastError: null,
    })
    expect(body.capabilities).toMatchObject({ supportsUserInfo: true, users: { maxResults: 30, supportsSetUp: true, supportsModify: true } })

    const stored = await app.inject({ method: 'GET', url: url(schoolA.id, device.id), headers: adminA })
    expect(stored.json()).toMatchObject({ deviceId: identity.serialNumber, status: 'online', capabilities: { supportsUserInfo: true } })
    expect(stored.json().lastSeenAt).not.toBeNull()

    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: device.id, action: 'test_connection' } })
    expect(audit.changes).toMatchObject({ ok: { after: true }, deviceId: { before: null, after: identity.serialNumber } })
  })

  it('keeps an entered deviceId the terminal recognises (its short serial) and replaces one it does not', async () => {
    const terminal = await startTerminal({ index: 2 })
    const known = await addDevice(app, adminA, schoolA.id, terminal, { deviceId: terminal.identity.shortSerial })
    expect((await testConnection(schoolA.id, known.id, adminA)).json()).toMatchObject({
      deviceIdDiscovered: false, deviceIdChanged: null, device: { deviceId: terminal.identity.shortSerial },
    })
    await app.inject({ method: 'DELETE', url: url(schoolA.id, known.id), headers: adminA })

    const typo = await addDevice(app, adminA, schoolA.id, terminal, { deviceId: 'NOT-THIS-ONE' })
    expect((await testConnection(schoolA.id, typo.id, adminA)).json()).toMatchObject({
      deviceIdChanged: { from: 'NOT-THIS-ONE', to: terminal.identity.serialNumber }, device: { deviceId: terminal.identity.serialNumber },
    })
  })

  it('answers 409 DEVICE_ID_CONFLICT when the terminal is already registered in another school, and stores nothing', async () => {
    const terminal = await startTerminal({ index: 3 })
    const first = await addDevice(app, adminB, schoolB.id, terminal)
    expect((await testConnection(schoolB.id, first.id, adminB)).statusCode).toBe(200)

    const second = await addDevice(app, adminA, schoolA.id, terminal, { name: 'Same terminal again' })
    const res = await testConnection(schoolA.id, second.id, adminA)
    expectProblem(res, 409, 'DEVICE_ID_CONFLICT')
    expect(res.json()).toMatchObject({ sameSchool: false, deviceId: terminal.identity.serialNumber })
    const row = await app.prisma.device.findUniqueOrThrow({ where: { id: second.id } })
    expect(row).toMatchObject({ deviceId: null, serialNumber: null, capabilities: null })
    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: second.id, action: 'test_connection' } })
    expect(audit.changes).toMatchObject({ ok: { after: false }, error: { after: 'DEVICE_ID_CONFLICT' } })

    const sameSchool = await addDevice(app, adminB, schoolB.id, terminal, { name: 'Twice in B' })
    const res2 = await testConnection(schoolB.id, sameSchool.id, adminB)
    expect(res2.json()).toMatchObject({ code: 'DEVICE_ID_CONFLICT', sameSchool: true, conflictingDeviceId: first.id })
  })

  it('a wrong password reports auth_failed and never locks the terminal, however often it is tried', async () => {
    const terminal = await startTerminal({ index: 4, lockoutThreshold: 3 })
    const device = await addDevice(app, adminA, schoolA.id, terminal, { password: 'wrong-password' })
    for (let i = 0; i < 8; i++) expectProblem(await testConnection(schoolA.id, device.id, adminA), 502, 'DEVICE_AUTH_FAILED')
    expect(terminal.snapshot()).toMatchObject({ failedLogins: 1, lockedUntil: null })
    const got = await app.inject({ method: 'GET', url: url(schoolA.id, device.id), headers: adminA })
    expect(got.json()).toMatchObject({ status: 'auth_failed', lastError: { code: 'DEVICE_AUTH_FAILED' } })

    const fixed = await app.inject({ method: 'PATCH', url: url(schoolA.id, device.id), headers: adminA, payload: { password: terminal.password } })
    expect(fixed.json()).toMatchObject({ status: 'offline', lastError: null })
    expect((await testConnection(schoolA.id, device.id, adminA)).json()).toMatchObject({ device: { status: 'online' } })
  })

  it('reports locked with the unlock time when the terminal has locked the account', async () => {
    const terminal = await startTerminal({ index: 5, lockoutThreshold: 1, lockoutMs: 10 * 60_000 })
    const device = await addDevice(app, adminA, schoolA.id, terminal, { password: 'wrong-password' })
    const res = await testConnection(schoolA.id, device.id, adminA)
    expectProblem(res, 423, 'DEVICE_LOCKED')
    // The terminal says how many seconds remain; our clock and its clock may differ by the round trip.
    const lockedUntil = Date.parse(terminal.snapshot().lockedUntil as string)
    expect(Math.abs(Date.parse(res.json().unlockAt) - lockedUntil)).toBeLessThan(2000)
    const got = (await app.inject({ method: 'GET', url: url(schoolA.id, device.id), headers: adminA })).json()
    expect(got.status).toBe('locked')
    expect(Math.abs(Date.parse(got.lockedUntil) - lockedUntil)).toBeLessThan(2000)
  })

  it('reports an unreachable terminal as offline with its last error, and a device without credentials as 422', async () => {
    const terminal = await startTerminal({ index: 6 })
    const port = terminal.port
    await terminal.close()
    const gone = await addDevice(app, adminA, schoolA.id, { ...terminal, port })
    expectProblem(await testConnection(schoolA.id, gone.id, adminA), 502, 'DEVICE_UNREACHABLE')
    const got = (await app.inject({ method: 'GET', url: url(schoolA.id, gone.id), headers: adminA })).json()
    expect(got).toMatchObject({ status: 'offline', lastError: { code: 'DEVICE_UNREACHABLE' } })

    const bare = await app.inject({ method: 'POST', url: `/api/v1/schools/${schoolA.id}/devices`, headers: adminA, payload: { name: 'Bare', direction: 'out', host: '127.0.0.1', port: 9 } })
    expectProblem(await testConnection(schoolA.id, bare.json().id, adminA), 422, 'DEVICE_NO_CREDENTIALS')
  })

  it('lets guards see devices but not test them, and hides other schools\' devices', async () => {
    const terminal = await startTerminal({ index: 7 })
    const device = await addDevice(app, adminA, schoolA.id, terminal)
    const guard = (await signedInAs(app, 'GUARD', schoolA.id)).headers
    expect((await testConnection(schoolA.id, device.id, guard)).statusCode).toBe(403)
    expect((await testConnection(schoolB.id, device.id, adminB)).statusCode).toBe(404)
    expect(terminal.snapshot().requests).toHaveLength(0)
  })

  it('counts every ISAPI call and HTTP request in /metrics', async () => {
    const terminal = await startTerminal({ index: 8 })
    const device = await addDevice(app, adminA, schoolA.id, terminal)
    await testConnection(schoolA.id, device.id, adminA)
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    expect(res.body).toMatch(/isapi_requests_total\{operation="deviceInfo",outcome="ok"\} \d+/)
    expect(res.body).toMatch(/isapi_request_duration_seconds_bucket\{le="[\d.]+",operation="capabilitiesUsers",outcome="ok"\}/)
    expect(res.body).toContain('http_request_duration_seconds_count{method="POST",route="/api/v1/schools/:schoolId/devices/:deviceId/test-connection",status_code="200"}')
    expect(res.body).not.toContain(terminal.password)
  })
})
