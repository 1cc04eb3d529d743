import ExcelJS from 'exceljs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { localDateOf } from '../../lib/timezone.js'
import { markAbsences } from './attendance.absence.js'

describe('attendance', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>
  let secret: { in: string, out: string }
  let klass: { id: string }
  const base = () => `/api/v1/schools/${school.id}`

  beforeAll(async () => {
    app = await buildTestApp()
    school = await createSchool(app, { timezone: 'Asia/Tashkent', lateThresholdMinutes: 10, absenceCutoffMinutes: 120, weekendDays: [0] })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    klass = await createClass(app, school.id, { name: '5A', startTime: '08:00' })
    const dirs = (await app.inject({ method: 'GET', url: `${base()}/webhook-info`, headers: admin })).json().directions
    secret = { in: dirs[0].direction === 'in' ? dirs[0].secret : dirs[1].secret, out: dirs[0].direction === 'out' ? dirs[0].secret : dirs[1].secret }
  })

  let serial = 1
  /** Pushes a face pass through the real webhook and waits until it is processed. */
  async function scan (employeeNo: string, isoTime: string, direction: 'in' | 'out' = 'in') {
    const body = { macAddress: 'aa:00:00:00:00:01', dateTime: isoTime, eventType: 'AccessControllerEvent', AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: employeeNo, serialNo: serial++ } }
    const res = await app.inject({ method: 'POST', url: `/webhook/${school.id}/${direction}/${secret[direction]}`, payload: body })
    expect(res.statusCode).toBe(200)
    // The processor runs off the request path; drain it here so the test is deterministic.
    await app.eventProcessor.kick()
    await app.eventProcessor.kick()
  }

  /** `count` active students without a class, in one statement. */
  const insertStudents = (schoolId: string, count: number) => app.prisma.$executeRawUnsafe(`
    INSERT INTO students (id, school_id, employee_no, first_name, last_name, gender, version, photo_version, created_at, updated_at)
    SELECT gen_random_uuid(), $1::uuid, (100000 + n)::text, 'F' || n, 'L' || n, 'male', 1, 0, now(), now() FROM generate_series(1, $2::int) AS n`, schoolId, count)

  const day = (studentId: string, date: string) => app.prisma.dailyAttendance.findUnique({ where: { studentId_date: { studentId, date: new Date(`${date}T00:00:00Z`) } } })

  it('applies the late rule from the class start, in the school timezone, and recomputes a day when an earlier event arrives late', async () => {
    const s = await createStudent(app, school.id, { employeeNo: '3001', classId: klass.id })
    await scan('3001', '2026-09-01T08:25:00+05:00')
    expect(await day(s.id, '2026-09-01')).toMatchObject({ status: 'LATE', lateMinutes: 25, scanCount: 1 })
    await scan('3001', '2026-09-01T07:50:00+05:00')
    expect(await day(s.id, '2026-09-01')).toMatchObject({ status: 'PRESENT', lateMinutes: 0, scanCount: 2 })
    // A terminal whose clock runs at +05:45: 08:40 there is 07:55 in Tashkent.
    await scan('3001', '2026-09-01T08:40:00+05:45')
    expect(await day(s.id, '2026-09-01')).toMatchObject({ status: 'PRESENT', scanCount: 3 })
    expect((await day(s.id, '2026-09-01'))?.firstInAt?.toISOString()).toBe('2026-09-01T02:50:00.000Z')
    await scan('3001', '2026-09-01T23:59:59+05:00', 'out')
    expect(await day(s.id, '2026-09-01')).toMatchObject({ inSchool: false, scanCount: 4 })
    expect(await day(s.id, '2026-09-02')).toBeNull()
  })

  it('never overwrites a manual EXCUSED with a later scan, audits manual changes, and supports bulk', async () => {
    const s = await createStudent(app, school.id, { employeeNo: '3002', classId: klass.id })
    const put = await app.inject({ method: 'PUT', url: `${base()}/attendance/${s.id}/2026-09-03`, headers: admin, payload: { status: 'EXCUSED', note: 'doctor' } })
    expect(put.json()).toMatchObject({ status: 'EXCUSED', manual: true, note: 'doctor' })
    await scan('3002', '2026-09-03T08:40:00+05:00')
    expect(await day(s.id, '2026-09-03')).toMatchObject({ status: 'EXCUSED', scanCount: 1 })
    expect(await app.prisma.auditLog.count({ where: { action: 'set_attendance', entityId: `${s.id}/2026-09-03` } })).toBe(1)

    const s2 = await createStudent(app, school.id, { classId: klass.id })
    const bulk = await app.inject({ method: 'POST', url: `${base()}/attendance/bulk`, headers: admin, payload: { date: '2026-09-04', studentIds: [s.id, s2.id], status: 'ABSENT' } })
    expect(bulk.json()).toEqual({ ok: true, updated: 2 })
    expect(await day(s2.id, '2026-09-04')).toMatchObject({ status: 'ABSENT', manual: true, note: null })
    const changes = async (studentId: string, date: string) =>
      (await app.prisma.auditLog.findMany({ where: { action: 'set_attendance', entityId: `${studentId}/${date}` }, orderBy: { createdAt: 'asc' } })).map((a) => a.changes)
    expect(await changes(s2.id, '2026-09-04')).toEqual([{ status: { before: null, after: 'ABSENT' }, manual: { before: null, after: true }, note: { before: null, after: null } }])
    await app.inject({ method: 'POST', url: `${base()}/attendance/bulk`, headers: admin, payload: { date: '2026-09-03', studentIds: [s.id, s2.id], status: 'PRESENT', note: 'bus' } })
    expect(await day(s.id, '2026-09-03')).toMatchObject({ status: 'PRESENT', manual: true, note: 'bus', scanCount: 1 })
    expect((await changes(s.id, '2026-09-03'))[1]).toEqual({ status: { before: 'EXCUSED', after: 'PRESENT' }, note: { before: 'doctor', after: 'bus' } })
    expectProblem(await app.inject({ method: 'POST', url: `${base()}/attendance/bulk`, headers: admin, payload: { date: '2026-09-04', studentIds: ['00000000-0000-4000-8000-000000000000'], status: 'ABSENT' } }), 404, 'STUDENT_NOT_FOUND')
  })

  it('sets the most students a bulk change allows (2,000) in one go, each with its own audit entry', async () => {
    const big = await createSchool(app, { timezone: 'UTC' })
    await insertStudents(big.id, 2000)
    const studentIds = (await app.prisma.student.findMany({ where: { schoolId: big.id }, select: { id: true } })).map((s) => s.id)
    const bulk = await app.inject({ method: 'POST', url: `/api/v1/schools/${big.id}/attendance/bulk`, headers: (await signedInAs(app, 'SCHOOL_ADMIN', big.id)).headers, payload: { date: '2026-09-04', studentIds, status: 'EXCUSED' } })
    expect(bulk.json()).toEqual({ ok: true, updated: 2000 })
    expect(await app.prisma.dailyAttendance.count({ where: { schoolId: big.id, status: 'EXCUSED', manual: true } })).toBe(2000)
    expect(await app.prisma.auditLog.count({ where: { schoolId: big.id, action: 'set_attendance' } })).toBe(2000)
  })

  it('marks absences after the cutoff in the school timezone, skipping weekends and holidays', async () => {
    const s = await createStudent(app, school.id, { classId: klass.id })
    // Tuesday 2026-09-08: class 08:00 + 120 min cutoff = 10:00 local = 05:00Z.
    await markAbsences(app.prisma, new Date('2026-09-08T04:59:00Z'))
    expect(await day(s.id, '2026-09-08')).toBeNull()
    await markAbsences(app.prisma, new Date('2026-09-08T05:00:00Z'))
    expect(await day(s.id, '2026-09-08')).toMatchObject({ status: 'ABSENT', manual: false })
    // Sunday is the school's weekend; 2026-09-09 is a holiday.
    await markAbsences(app.prisma, new Date('2026-09-13T09:00:00Z'))
    expect(await day(s.id, '2026-09-13')).toBeNull()
    await app.inject({ method: 'POST', url: `${base()}/holidays`, headers: admin, payload: { date: '2026-09-09', name: 'Holiday' } })
    await markAbsences(app.prisma, new Date('2026-09-09T09:00:00Z'))
    expect(await day(s.id, '2026-09-09')).toBeNull()
    // A scan after the automatic ABSENT makes the day LATE.
    const no = (await app.prisma.student.findUniqueOrThrow({ where: { id: s.id } })).employeeNo
    await scan(no, '2026-09-08T10:30:00+05:00')
    expect(await day(s.id, '2026-09-08')).toMatchObject({ status: 'LATE', lateMinutes: 150 })
  })

  it('lists days with filters, gives statistics, and exports CSV and Excel with every row', async () => {
    const list = await app.inject({ method: 'GET', url: `${base()}/attendance?from=2026-09-01&to=2026-09-30&status=LATE`, headers: admin })
    expect(list.json().items.every((r: { status: string }) => r.status === 'LATE')).toBe(true)
    expect(list.json().total).toBeGreaterThanOrEqual(1)

    const byHour = (await app.inject({ method: 'GET', url: `${base()}/attendance/stats?by=hour&from=2026-09-01&to=2026-09-01`, headers: admin })).json()
    expect(byHour.rows).toEqual(expect.arrayContaining([{ key: '08', label: '08', scans: 1 }, { key: '07', label: '07', scans: 2 }, { key: '23', label: '23', scans: 1 }]))
    const byClass = (await app.inject({ method: 'GET', url: `${base()}/attendance/stats?by=class&from=2026-09-01&to=2026-09-30`, headers: admin })).json()
    expect(byClass.rows[0]).toMatchObject({ label: '5A' })

    const total = await app.prisma.dailyAttendance.count({ where: { schoolId: school.id, date: { gte: new Date('2026-09-01'), lte: new Date('2026-09-30') } } })
    const csv = await app.inject({ method: 'GET', url: `${base()}/attendance/export?format=csv&from=2026-09-01&to=2026-09-30`, headers: admin })
    expect(csv.headers['content-type']).toContain('text/csv')
    const lines = csv.body.trim().split('\r\n')
    expect(lines[0]).toContain('date,employeeNo,lastName')
    expect(lines).toHaveLength(total + 1)

    const xlsx = await app.inject({ method: 'GET', url: `${base()}/attendance/export?format=xlsx&from=2026-09-01&to=2026-09-30`, headers: admin })
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer)
    expect(book.getWorksheet('Attendance')?.rowCount).toBe(total + 1)
  })

  it('exports 100,000 rows page by page, in order, each exactly once', async () => {
    const big = await createSchool(app, { timezone: 'UTC' })
    const bigAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', big.id)).headers
    await insertStudents(big.id, 1000)
    await app.prisma.$executeRawUnsafe(`
      INSERT INTO daily_attendance (school_id, student_id, date, status, scan_count, updated_at)
      SELECT $1::uuid, s.id, DATE '2026-01-01' + d, 'PRESENT', 1, now() FROM students s, generate_series(0, 99) AS d WHERE s.school_id = $1::uuid`, big.id)
    const csv = await app.inject({ method: 'GET', url: `/api/v1/schools/${big.id}/attendance/export?format=csv&from=2026-01-01&to=2026-04-10`, headers: bigAdmin })
    const lines = csv.body.trim().split('\r\n').slice(1)
    expect(lines).toHaveLength(100_000)
    const keys = lines.map((l) => l.split(',').slice(0, 2).join(','))
    expect(new Set(keys).size).toBe(100_000)
    expect(keys[0].startsWith('2026-01-01,')).toBe(true)
    expect(keys.at(-1)?.startsWith('2026-04-10,')).toBe(true)
  })

  it('shows a teacher only the classes assigned to them: events, days, statistics and exports', async () => {
    const other = await createClass(app, school.id, { name: '7B', startTime: '08:00' })
    const mine = await createStudent(app, school.id, { employeeNo: '3201', classId: klass.id })
    const theirs = await createStudent(app, school.id, { employeeNo: '3202', classId: other.id })
    await scan('3201', '2026-10-05T02:50:00Z')
    await scan('3202', '2026-10-05T02:55:00Z')
    const teacher = await signedInAs(app, 'TEACHER', school.id)
    await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: klass.id } })
    const get = async (path: string) => {
      const res = await app.inject({ method: 'GET', url: `${base()}${path}`, headers: teacher.headers })
      expect(res.statusCode, res.body).toBe(200)
      return res
    }
    const students = (items: Array<{ studentId: string | null }>) => new Set(items.map((i) => i.studentId))

    expect(students((await get('/events?from=2026-10-05T00:00:00Z&to=2026-10-05T23:59:59Z')).json().items)).toEqual(new Set([mine.id]))
    expect(students((await get('/attendance?from=2026-10-05&to=2026-10-05')).json().items)).toEqual(new Set([mine.id]))
    expect((await get(`/attendance?from=2026-10-05&to=2026-10-05&classId=${other.id}`)).json().items).toEqual([])
    const byClass = (await get('/attendance/stats?by=class&from=2026-10-05&to=2026-10-05')).json().rows
    expect(byClass.map((r: { label: string }) => r.label)).toEqual(['5A'])
    const csv = (await get('/attendance/export?format=csv&from=2026-10-05&to=2026-10-05')).body
    expect(csv).toContain(mine.employeeNo)
    expect(csv).not.toContain(theirs.employeeNo)
  })

  it('shows today per class with who is in school, to guards too; guards cannot read history', async () => {
    const s = await createStudent(app, school.id, { employeeNo: '3100', classId: klass.id })
    await scan('3100', new Date().toISOString())
    const guard = (await signedInAs(app, 'GUARD', school.id)).headers
    const today = await app.inject({ method: 'GET', url: `${base()}/attendance/today`, headers: guard })
    expect(today.statusCode).toBe(200)
    expect(today.json()).toMatchObject({ date: localDateOf(new Date(), 'Asia/Tashkent'), timezone: 'Asia/Tashkent' })
    expect(today.json().inSchoolNow.map((p: { studentId: string }) => p.studentId)).toContain(s.id)
    const c = today.json().classes.find((x: { classId: string }) => x.classId === klass.id)
    expect(c.total).toBe(await app.prisma.student.count({ where: { classId: klass.id, status: 'active', deletedAt: null } }))
    expect(c.present + c.late).toBeGreaterThanOrEqual(1) // the student who just scanned
    expect((await app.inject({ method: 'GET', url: `${base()}/attendance?from=2026-09-01`, headers: guard })).statusCode).toBe(403)
    // Events: a guard asking for history gets today's only (the school has events back to September).
    const events = await app.inject({ method: 'GET', url: `${base()}/events?from=2026-09-01T00:00:00Z&pageSize=100`, headers: guard })
    expect(events.statusCode).toBe(200)
    const days = new Set(events.json().items.map((e: { occurredAt: string }) => localDateOf(new Date(e.occurredAt), 'Asia/Tashkent')))
    expect([...days]).toEqual([localDateOf(new Date(), 'Asia/Tashkent')])
  })
})
