import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import type { Role } from '../../generated/prisma/enums.js'
import { buildTestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem, expectValidation } from '../../../test/helpers/problem.js'

const app = await buildTestApp()
const api = '/api/v1'

const AUDIT_KEYS = ['action', 'actorEmail', 'actorId', 'changes', 'createdAt', 'entity', 'entityId', 'id', 'ip', 'requestId', 'schoolId'].sort()
const PAGE_KEYS = ['items', 'page', 'pageSize', 'total'].sort()

type Headers = Record<string, string>
type SchoolRole = Exclude<Role, 'SUPER_ADMIN'>
interface AuditItem { id: string, action: string, entity: string, entityId: string | null, actorId: string | null, schoolId: string | null, createdAt: string, requestId: string | null, changes: Record<string, { before: unknown, after: unknown }> | null }

const items = (res: LightMyRequestResponse) => res.json().items as AuditItem[]

let schoolA: { id: string, code: string }
let schoolB: { id: string, code: string }
let superAdmin: { id: string, headers: Headers }
const roleA = {} as Record<SchoolRole, Headers>
let adminA: { id: string, email: string, headers: Headers }
let adminB: { id: string, headers: Headers }

beforeAll(async () => {
  schoolA = await createSchool(app)
  schoolB = await createSchool(app)
  const sa = await signedInAs(app, 'SUPER_ADMIN', null)
  superAdmin = { id: sa.user.id, headers: sa.headers }
  for (const role of ['SCHOOL_ADMIN', 'OPERATOR', 'TEACHER', 'GUARD'] as const) {
    const signed = await signedInAs(app, role, schoolA.id)
    roleA[role] = signed.headers
    if (role === 'SCHOOL_ADMIN') adminA = { id: signed.user.id, email: signed.user.email, headers: signed.headers }
  }
  const b = await signedInAs(app, 'SCHOOL_ADMIN', schoolB.id)
  adminB = { id: b.user.id, headers: b.headers }
})

describe('GET /schools/:schoolId/audit', () => {
  let school: { id: string }
  let admin: { id: string, email: string, headers: Headers }
  let other: { id: string, headers: Headers }
  let classId: string
  let holidayId: string
  let classUpdateRequestId: string

  beforeAll(async () => {
    school = await createSchool(app, { name: 'Audit school', lateThresholdMinutes: 15 })
    const a = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
    admin = { id: a.user.id, email: a.user.email, headers: a.headers }
    const o = await signedInAs(app, 'SCHOOL_ADMIN', school.id)
    other = { id: o.user.id, headers: o.headers }

    const created = await app.inject({ method: 'POST', url: `${api}/schools/${school.id}/classes`, headers: admin.headers, payload: { name: '1-A', grade: 1, startTime: '08:00' } })
    expect(created.statusCode, created.body).toBe(201)
    classId = created.json().id
    const updated = await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}/classes/${classId}`, headers: admin.headers, payload: { grade: 2, startTime: '08:00' } })
    expect(updated.statusCode, updated.body).toBe(200)
    classUpdateRequestId = updated.headers['x-request-id'] as string
    const holiday = await app.inject({ method: 'POST', url: `${api}/schools/${school.id}/holidays`, headers: other.headers, payload: { date: '2026-03-21', name: 'Navruz' } })
    expect(holiday.statusCode, holiday.body).toBe(201)
    holidayId = holiday.json().id
    const del = await app.inject({ method: 'DELETE', url: `${api}/schools/${school.id}/holidays/${holidayId}`, headers: other.headers })
    expect(del.statusCode, del.body).toBe(204)
    const schoolUpdate = await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: other.headers, payload: { lateThresholdMinutes: 25 } })
    expect(schoolUpdate.statusCode, schoolUpdate.body).toBe(200)
    // Activity in another school must never show up here.
    const elsewhere = await app.inject({ method: 'POST', url: `${api}/schools/${schoolB.id}/holidays`, headers: adminB.headers, payload: { date: '2026-03-21', name: 'Navruz B' } })
    expect(elsewhere.statusCode, elsewhere.body).toBe(201)

    // Rows written within the same millisecond would tie on createdAt; space them out, in the
    // order the changes were made, so the newest-first order below is deterministic.
    const order = ['class:create', 'class:update', 'holiday:create', 'holiday:delete', 'school:update']
    const rows = await app.prisma.auditLog.findMany({ where: { schoolId: school.id } })
    expect(rows.map((r) => `${r.entity}:${r.action}`).sort()).toEqual([...order].sort())
    for (const row of rows) {
      const at = new Date(Date.UTC(2025, 0, 1, 12, order.indexOf(`${row.entity}:${row.action}`)))
      await app.prisma.auditLog.update({ where: { id: row.id }, data: { createdAt: at } })
    }
  })

  const url = (qs = '') => `${api}/schools/${school.id}/audit${qs ? `?${qs}` : ''}`

  it('lists the school\'s audit trail newest first with only allowlisted fields', async () => {
    const res = await app.inject({ method: 'GET', url: url(), headers: admin.headers })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(PAGE_KEYS)
    expect(body).toMatchObject({ page: 1, pageSize: 50, total: 5 })
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(AUDIT_KEYS)
    expect(items(res).map((i) => `${i.entity}:${i.action}`)).toEqual([
      'school:update', 'holiday:delete', 'holiday:create', 'class:update', 'class:create',
    ])
    expect(items(res).every((i) => i.schoolId === school.id)).toBe(true)
    const classUpdate = items(res)[3]
    expect(classUpdate).toMatchObject({
      actorId: admin.id, actorEmail: admin.email, entityId: classId, requestId: classUpdateRequestId, ip: '127.0.0.1',
      changes: { grade: { before: 1, after: 2 } },
    })
    expect(Number.isNaN(Date.parse(classUpdate.createdAt))).toBe(false)
    expect(items(res)[0].changes).toEqual({ lateThresholdMinutes: { before: 15, after: 25 } })
  })

  it('records the request id of the change, equal to the response\'s x-request-id', async () => {
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, headers: adminA.headers, payload: { phone: '+998 90 000 00 00' } })
    expect(res.statusCode, res.body).toBe(200)
    const requestId = res.headers['x-request-id']
    expect(typeof requestId).toBe('string')
    const list = await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/audit?entity=school&action=update`, headers: adminA.headers })
    const mine = items(list).filter((i) => i.requestId === requestId)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ actorId: adminA.id, entityId: schoolA.id, changes: { phone: { before: null, after: '+998 90 000 00 00' } } })
  })

  it('does not let a client choose the recorded request id', async () => {
    const res = await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, headers: { ...adminA.headers, 'x-request-id': 'spoofed-id' }, payload: { address: 'Spoof st' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['x-request-id']).not.toBe('spoofed-id')
    const row = await app.prisma.auditLog.findFirstOrThrow({ where: { entityId: schoolA.id, requestId: res.headers['x-request-id'] as string } })
    expect(row.changes).toEqual({ address: { before: null, after: 'Spoof st' } })
    expect(await app.prisma.auditLog.count({ where: { requestId: 'spoofed-id' } })).toBe(0)
  })

  it('filters by actor, action, entity and entity id', async () => {
    const byActor = await app.inject({ method: 'GET', url: url(`actorId=${other.id}`), headers: admin.headers })
    expect(byActor.json().total).toBe(3)
    expect(items(byActor).every((i) => i.actorId === other.id)).toBe(true)

    const byAction = await app.inject({ method: 'GET', url: url('action=update'), headers: admin.headers })
    expect(items(byAction).map((i) => i.entity)).toEqual(['school', 'class'])

    const byEntity = await app.inject({ method: 'GET', url: url('entity=holiday'), headers: admin.headers })
    expect(items(byEntity).map((i) => i.action)).toEqual(['delete', 'create'])

    const byEntityId = await app.inject({ method: 'GET', url: url(`entityId=${classId}`), headers: admin.headers })
    expect(byEntityId.json().total).toBe(2)
    expect(items(byEntityId).every((i) => i.entityId === classId)).toBe(true)

    const combined = await app.inject({ method: 'GET', url: url(`entity=class&action=create&actorId=${admin.id}`), headers: admin.headers })
    expect(items(combined).map((i) => i.entityId)).toEqual([classId])

    const none = await app.inject({ method: 'GET', url: url(`actorId=${randomUUID()}`), headers: admin.headers })
    expect(none.json()).toMatchObject({ items: [], total: 0 })
  })

  it('filters by a from (inclusive) / to (exclusive) instant range', async () => {
    const at = (iso: string) => app.prisma.auditLog.create({
      data: { schoolId: school.id, actorId: admin.id, action: 'probe', entity: 'probe', entityId: iso, createdAt: new Date(iso) },
    })
    await at('2024-01-01T00:00:00.000Z')
    await at('2024-01-02T00:00:00.000Z')
    await at('2024-01-03T00:00:00.000Z')
    await at('2024-01-04T00:00:00.000Z')

    const res = await app.inject({ method: 'GET', url: url('entity=probe&from=2024-01-02T00:00:00Z&to=2024-01-04T00:00:00Z'), headers: admin.headers })
    expect(res.statusCode, res.body).toBe(200)
    expect(items(res).map((i) => i.entityId)).toEqual(['2024-01-03T00:00:00.000Z', '2024-01-02T00:00:00.000Z'])

    // Offsets are honoured: 05:00+05:00 is midnight UTC.
    const offset = await app.inject({ method: 'GET', url: url(`entity=probe&from=${encodeURIComponent('2024-01-03T05:00:00+05:00')}`), headers: admin.headers })
    expect(items(offset).map((i) => i.entityId)).toEqual(['2024-01-04T00:00:00.000Z', '2024-01-03T00:00:00.000Z'])

    const to = await app.inject({ method: 'GET', url: url('entity=probe&to=2024-01-02T00:00:00.001Z'), headers: admin.headers })
    expect(to.json().total).toBe(2)

    await app.prisma.auditLog.deleteMany({ where: { schoolId: school.id, entity: 'probe' } })
  })

  it('pages without overlap', async () => {
    const all = items(await app.inject({ method: 'GET', url: url(), headers: admin.headers }))
    expect(all).toHaveLength(5)
    const seen: string[] = []
    for (const page of [1, 2, 3]) {
      const res = await app.inject({ method: 'GET', url: url(`page=${page}&pageSize=2`), headers: admin.headers })
      expect(res.json()).toMatchObject({ page, pageSize: 2, total: 5 })
      seen.push(...items(res).map((i) => i.id))
    }
    expect(seen).toEqual(all.map((i) => i.id))
    const beyond = await app.inject({ method: 'GET', url: url('page=4&pageSize=2'), headers: admin.headers })
    expect(beyond.json()).toMatchObject({ items: [], total: 5 })
  })

  it.each([
    ['actorId', 'actorId=not-a-uuid'],
    ['from', 'from=yesterday'],
    ['to', 'to=2024-13-01T00:00:00Z'],
    ['action', 'action='],
    ['pageSize', 'pageSize=201'],
    ['page', 'page=0'],
  ])('rejects an invalid %s naming the field', async (field, qs) => {
    expectValidation(await app.inject({ method: 'GET', url: url(qs), headers: admin.headers }), field)
  })

  it('lets a super admin read any school\'s audit', async () => {
    const res = await app.inject({ method: 'GET', url: url(), headers: superAdmin.headers })
    expect(res.statusCode).toBe(200)
    expect(res.json().total).toBe(5)
  })

  it('forbids operators, teachers and guards of the school (403)', async () => {
    for (const role of ['OPERATOR', 'TEACHER', 'GUARD'] as const) {
      expectProblem(await app.inject({ method: 'GET', url: `${api}/schools/${schoolA.id}/audit`, headers: roleA[role] }), 403, 'FORBIDDEN')
    }
  })

  it('answers 404 to an admin of another school, and never lists another school\'s rows', async () => {
    expectProblem(await app.inject({ method: 'GET', url: url(), headers: adminB.headers }), 404, 'SCHOOL_NOT_FOUND')
    for (const role of Object.keys(roleA) as SchoolRole[]) {
      expectProblem(await app.inject({ method: 'GET', url: url(), headers: roleA[role] }), 404, 'SCHOOL_NOT_FOUND')
    }
    const own = await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}/audit?pageSize=200`, headers: adminB.headers })
    expect(own.statusCode).toBe(200)
    expect(own.json().total).toBeGreaterThan(0)
    expect(items(own).every((i) => i.schoolId === schoolB.id)).toBe(true)
    // Filtering by another school's entity id finds nothing either.
    const probe = await app.inject({ method: 'GET', url: `${api}/schools/${schoolB.id}/audit?entityId=${classId}`, headers: adminB.headers })
    expect(probe.json()).toMatchObject({ items: [], total: 0 })
  })

  it('answers 401 without a valid token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: url() }), 401, 'UNAUTHORIZED')
    expectProblem(await app.inject({ method: 'GET', url: url(), headers: { authorization: 'Bearer x.y.z' } }), 401, 'UNAUTHORIZED')
  })
})

describe('audit rows commit together with their change', () => {
  const auditCount = () => app.prisma.auditLog.count()

  it('a failing change writes no audit row', async () => {
    const cls = await createClass(app, schoolA.id, { name: 'ATOM-1' })
    await createStudent(app, schoolA.id, { classId: cls.id })
    await app.prisma.holiday.create({ data: { schoolId: schoolA.id, date: new Date('2029-01-01T00:00:00Z'), name: 'Taken' } })
    const before = await auditCount()

    const failures = [
      await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin.headers, payload: { name: 'x', code: schoolB.code, timezone: 'UTC' } }),
      await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}`, headers: superAdmin.headers, payload: { code: schoolB.code } }),
      await app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/classes`, headers: adminA.headers, payload: { name: 'ATOM-1', grade: 1, startTime: '08:00' } }),
      await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${cls.id}`, headers: adminA.headers, payload: { endTime: '07:00' } }),
      await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${cls.id}`, headers: adminA.headers }),
      await app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/holidays`, headers: adminA.headers, payload: { date: '2029-01-01', name: 'Again' } }),
    ]
    expect(failures.map((r) => r.statusCode)).toEqual([409, 409, 409, 400, 409, 409])
    expect(await auditCount()).toBe(before)
  })

  describe('when the change fails at commit, its audit row goes too', () => {
    // A deferred constraint trigger fails the transaction at COMMIT, after the service has
    // written both the change and its audit row: an audit row written outside that
    // transaction would survive.
    beforeAll(async () => {
      await app.prisma.$executeRawUnsafe(`
        CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.name = 'FAIL-ON-DELETE' THEN RAISE EXCEPTION 'test: delete rejected at commit'; END IF;
            RETURN OLD;
          END IF;
          IF NEW.name = 'FAIL-AT-COMMIT' THEN RAISE EXCEPTION 'test: change rejected at commit'; END IF;
          IF TG_TABLE_NAME = 'schools' THEN
            IF NEW.deleted_at IS NOT NULL AND NEW.name = 'FAIL-ON-DELETE' THEN RAISE EXCEPTION 'test: delete rejected at commit'; END IF;
          END IF;
          RETURN NEW;
        END $$`)
      for (const table of ['schools', 'classes', 'holidays']) {
        await app.prisma.$executeRawUnsafe(`CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT OR UPDATE OR DELETE ON ${table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit()`)
      }
    })

    const expectFailed = async (send: () => Promise<LightMyRequestResponse>) => {
      const auditsBefore = await auditCount()
      expectProblem(await send(), 500, 'INTERNAL_ERROR')
      expect(await auditCount()).toBe(auditsBefore)
    }

    it('school create, update and delete', async () => {
      const code = `COMMIT-${randomUUID().slice(0, 6)}`
      await expectFailed(() => app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin.headers, payload: { name: 'FAIL-AT-COMMIT', code, timezone: 'UTC' } }))
      expect(await app.prisma.school.count({ where: { code } })).toBe(0)

      const school = await createSchool(app, { name: 'Kept' })
      await expectFailed(() => app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin.headers, payload: { name: 'FAIL-AT-COMMIT' } }))
      expect((await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })).name).toBe('Kept')

      const doomed = await createSchool(app, { name: 'FAIL-ON-DELETE' })
      await expectFailed(() => app.inject({ method: 'DELETE', url: `${api}/schools/${doomed.id}`, headers: superAdmin.headers }))
      expect((await app.prisma.school.findUniqueOrThrow({ where: { id: doomed.id } })).deletedAt).toBeNull()
    })

    it('class create, update and delete', async () => {
      await expectFailed(() => app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/classes`, headers: adminA.headers, payload: { name: 'FAIL-AT-COMMIT', grade: 1, startTime: '08:00' } }))
      expect(await app.prisma.class.count({ where: { name: 'FAIL-AT-COMMIT' } })).toBe(0)

      const cls = await createClass(app, schoolA.id, { name: 'KEPT-C' })
      await expectFailed(() => app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${cls.id}`, headers: adminA.headers, payload: { name: 'FAIL-AT-COMMIT' } }))
      expect((await app.prisma.class.findUniqueOrThrow({ where: { id: cls.id } })).name).toBe('KEPT-C')

      const doomed = await createClass(app, schoolA.id, { name: 'FAIL-ON-DELETE' })
      await expectFailed(() => app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${doomed.id}`, headers: adminA.headers }))
      expect(await app.prisma.class.findUnique({ where: { id: doomed.id } })).not.toBeNull()
    })

    it('holiday create, update and delete', async () => {
      await expectFailed(() => app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/holidays`, headers: adminA.headers, payload: { date: '2029-03-01', name: 'FAIL-AT-COMMIT' } }))
      expect(await app.prisma.holiday.count({ where: { name: 'FAIL-AT-COMMIT' } })).toBe(0)

      const h = await app.prisma.holiday.create({ data: { schoolId: schoolA.id, date: new Date('2029-03-02T00:00:00Z'), name: 'Kept' } })
      await expectFailed(() => app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: adminA.headers, payload: { name: 'FAIL-AT-COMMIT' } }))
      expect((await app.prisma.holiday.findUniqueOrThrow({ where: { id: h.id } })).name).toBe('Kept')

      const doomed = await app.prisma.holiday.create({ data: { schoolId: schoolA.id, date: new Date('2029-03-03T00:00:00Z'), name: 'FAIL-ON-DELETE' } })
      await expectFailed(() => app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${doomed.id}`, headers: adminA.headers }))
      expect(await app.prisma.holiday.findUnique({ where: { id: doomed.id } })).not.toBeNull()
    })
  })

  describe('when the audit write fails, the change is rolled back', () => {
    const MARK = 'FAIL-AUDIT'
    beforeAll(async () => {
      // A database rule that rejects any audit row mentioning the marker: the change that
      // precedes it in the same transaction must then not survive either.
      await app.prisma.$executeRawUnsafe(
        `ALTER TABLE audit_logs ADD CONSTRAINT test_reject_marker CHECK (changes IS NULL OR position('${MARK}' in changes::text) = 0)`
      )
    })

    const expectFailed = (res: LightMyRequestResponse) => expectProblem(res, 500, 'INTERNAL_ERROR')

    it('school create, update and delete', async () => {
      const code = `ROLL-${randomUUID().slice(0, 6)}`
      expectFailed(await app.inject({ method: 'POST', url: `${api}/schools`, headers: superAdmin.headers, payload: { name: MARK, code, timezone: 'UTC' } }))
      expect(await app.prisma.school.count({ where: { code } })).toBe(0)

      const school = await createSchool(app, { name: 'Stays' })
      expectFailed(await app.inject({ method: 'PATCH', url: `${api}/schools/${school.id}`, headers: superAdmin.headers, payload: { name: MARK } }))
      expect((await app.prisma.school.findUniqueOrThrow({ where: { id: school.id } })).name).toBe('Stays')

      const marked = await createSchool(app, { name: MARK })
      expectFailed(await app.inject({ method: 'DELETE', url: `${api}/schools/${marked.id}`, headers: superAdmin.headers }))
      expect(await app.prisma.school.findUniqueOrThrow({ where: { id: marked.id } })).toMatchObject({ deletedAt: null, code: marked.code })
    })

    it('class create, update and delete', async () => {
      expectFailed(await app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/classes`, headers: adminA.headers, payload: { name: MARK, grade: 1, startTime: '08:00' } }))
      expect(await app.prisma.class.count({ where: { name: MARK } })).toBe(0)

      const cls = await createClass(app, schoolA.id, { name: 'ROLL-C' })
      expectFailed(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/classes/${cls.id}`, headers: adminA.headers, payload: { name: MARK } }))
      expect((await app.prisma.class.findUniqueOrThrow({ where: { id: cls.id } })).name).toBe('ROLL-C')

      const marked = await createClass(app, schoolA.id, { name: MARK })
      expectFailed(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/classes/${marked.id}`, headers: adminA.headers }))
      expect(await app.prisma.class.findUnique({ where: { id: marked.id } })).not.toBeNull()
    })

    it('holiday create, update and delete', async () => {
      expectFailed(await app.inject({ method: 'POST', url: `${api}/schools/${schoolA.id}/holidays`, headers: adminA.headers, payload: { date: '2029-02-01', name: MARK } }))
      expect(await app.prisma.holiday.count({ where: { schoolId: schoolA.id, name: MARK } })).toBe(0)

      const h = await app.prisma.holiday.create({ data: { schoolId: schoolA.id, date: new Date('2029-02-02T00:00:00Z'), name: 'Stays' } })
      expectFailed(await app.inject({ method: 'PATCH', url: `${api}/schools/${schoolA.id}/holidays/${h.id}`, headers: adminA.headers, payload: { name: MARK, date: '2029-02-03' } }))
      expect(await app.prisma.holiday.findUniqueOrThrow({ where: { id: h.id } })).toMatchObject({ name: 'Stays', date: new Date('2029-02-02T00:00:00Z') })

      const marked = await app.prisma.holiday.create({ data: { schoolId: schoolA.id, date: new Date('2029-02-04T00:00:00Z'), name: MARK } })
      expectFailed(await app.inject({ method: 'DELETE', url: `${api}/schools/${schoolA.id}/holidays/${marked.id}`, headers: adminA.headers }))
      expect(await app.prisma.holiday.findUnique({ where: { id: marked.id } })).not.toBeNull()
    })
  })
})
