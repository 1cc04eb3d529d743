import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, signedInAs } from '../../../test/factories/index.js'
import { createCredentialsCipher } from '../../lib/credentials-cipher.js'

const DEVICE_KEYS = [
  'id', 'schoolId', 'name', 'direction', 'location', 'host', 'port', 'https', 'tlsInsecure', 'username', 'hasPassword',
  'deviceId', 'serialNumber', 'macAddress', 'model', 'firmware', 'capabilities', 'status', 'lastSeenAt', 'lastError',
  'lockedUntil', 'createdAt', 'updatedAt',
].sort()

describe('devices routes', () => {
  let app: TestApp
  let schoolA: { id: string }
  let schoolB: { id: string }
  let adminA: { authorization: string }
  let adminB: { authorization: string }
  const base = (schoolId: string) => `/api/v1/schools/${schoolId}/devices`
  const body = (over: Record<string, unknown> = {}) => ({ name: 'Gate 1', direction: 'in', host: '127.0.0.1', port: 8080, username: 'admin', password: 'Sup3r-Secret!', ...over })

  beforeAll(async () => {
    app = await buildTestApp()
    schoolA = await createSchool(app)
    schoolB = await createSchool(app)
    adminA = (await signedInAs(app, 'SCHOOL_ADMIN', schoolA.id)).headers
    adminB = (await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)).headers
  })

  it('creates a device, never returns the password and stores it encrypted with AES-256-GCM', async () => {
    const res = await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body() })
    expect(res.statusCode).toBe(201)
    const device = res.json()
    expect(Object.keys(device).sort()).toEqual(DEVICE_KEYS)
    expect(device).toMatchObject({ name: 'Gate 1', hasPassword: true, status: 'offline', deviceId: null })
    expect(res.body).not.toContain('Sup3r-Secret!')

    const [row] = await app.prisma.$queryRaw<Array<{ password_encrypted: string }>>`SELECT password_encrypted FROM devices WHERE id = ${device.id}::uuid`
    expect(row.password_encrypted).not.toContain('Sup3r-Secret!')
    expect(row.password_encrypted).toMatch(/^v1:/)
    expect(createCredentialsCipher(app.config.CREDENTIALS_KEY).decrypt(row.password_encrypted)).toBe('Sup3r-Secret!')

    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entity: 'device', entityId: device.id } })
    expect(JSON.stringify(audit.changes)).not.toContain('Sup3r-Secret!')
  })

  it('reports no_credentials for a device without a password', async () => {
    const res = await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ name: 'No creds', password: undefined }) })
    expect(res.json()).toMatchObject({ status: 'no_credentials', hasPassword: false })
  })

  it('answers 409 DEVICE_ID_CONFLICT for a deviceId used in any school, saying which case', async () => {
    await app.inject({ method: 'POST', url: base(schoolB.id), headers: adminB, payload: body({ deviceId: 'AA8066966' }) })
    const other = await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ deviceId: 'AA8066966' }) })
    expect(other.statusCode).toBe(409)
    expect(other.json()).toMatchObject({ code: 'DEVICE_ID_CONFLICT', sameSchool: false })
    expect(other.json().conflictingDeviceId).toBeUndefined()
    const same = await app.inject({ method: 'POST', url: base(schoolB.id), headers: adminB, payload: body({ deviceId: 'AA8066966' }) })
    expect(same.json()).toMatchObject({ code: 'DEVICE_ID_CONFLICT', sameSchool: true })
  })

  it('validates the body and names the field', async () => {
    const res = await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ port: 70000 }) })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain('port')
  })

  it('requires a token and hides other schools (404)', async () => {
    expect((await app.inject({ method: 'GET', url: base(schoolA.id) })).statusCode).toBe(401)
    const created = (await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ name: 'Hidden' }) })).json()
    const cross = await app.inject({ method: 'GET', url: `${base(schoolA.id)}/${created.id}`, headers: adminB })
    expect(cross.statusCode).toBe(404)
    const viaOwnSchool = await app.inject({ method: 'PATCH', url: `${base(schoolB.id)}/${created.id}`, headers: adminB, payload: { name: 'x' } })
    expect(viaOwnSchool.statusCode).toBe(404)
  })

  it('lets a guard read but not write, and a teacher do neither', async () => {
    const guard = (await signedInAs(app, 'GUARD', schoolA.id)).headers
    const teacher = (await signedInAs(app, 'TEACHER', schoolA.id)).headers
    expect((await app.inject({ method: 'GET', url: base(schoolA.id), headers: guard })).statusCode).toBe(200)
    expect((await app.inject({ method: 'POST', url: base(schoolA.id), headers: guard, payload: body() })).statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: base(schoolA.id), headers: teacher })).statusCode).toBe(403)
  })

  it('audits a credential change as update_credentials and clears the last failure', async () => {
    const created = (await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ name: 'Rotate' }) })).json()
    await app.prisma.device.update({ where: { id: created.id }, data: { lastErrorCode: 'DEVICE_AUTH_FAILED', lastErrorMessage: 'wrong password' } })
    const res = await app.inject({ method: 'PATCH', url: `${base(schoolA.id)}/${created.id}`, headers: adminA, payload: { password: 'another-secret' } })
    expect(res.json()).toMatchObject({ lastError: null, hasPassword: true })
    const audit = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: created.id, action: 'update_credentials' } })
    expect(JSON.stringify(audit.changes)).not.toContain('another-secret')
  })

  it('soft-deletes a device and releases its deviceId', async () => {
    const created = (await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ name: 'Old', deviceId: 'REUSE-1' }) })).json()
    expect((await app.inject({ method: 'DELETE', url: `${base(schoolA.id)}/${created.id}`, headers: adminA })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: `${base(schoolA.id)}/${created.id}`, headers: adminA })).statusCode).toBe(404)
    const again = await app.inject({ method: 'POST', url: base(schoolA.id), headers: adminA, payload: body({ name: 'New', deviceId: 'REUSE-1' }) })
    expect(again.statusCode).toBe(201)
  })
})
