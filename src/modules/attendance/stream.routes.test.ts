import { randomUUID } from 'node:crypto'
import { get } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { until } from '../../../test/helpers/until.js'
import { openDayFeed } from './days.feed.js'
import { FEED_PAGE, LATE_COMMIT_MS, openEventFeed } from './events.feed.js'

describe('live event stream', () => {
  let app: TestApp
  let port: number
  let school: { id: string }

  beforeAll(async () => {
    app = await buildTestApp()
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as { port: number }).port
    school = await createSchool(app, { timezone: 'UTC' })
  })

  /** Takes an event id from the sequence now, as a processor's batch does when it inserts; the row comes later. */
  const reserveId = async () => {
    const [row] = await app.prisma.$queryRawUnsafe<Array<{ id: string }>>("SELECT nextval(pg_get_serial_sequence('attendance_events', 'id'))::text AS id")
    return row.id
  }

  /** Commits a face pass, with the given id or the next one; returns its id. */
  const commitEvent = async (student: { id: string, employeeNo: string } | null, id: string | null = null) => {
    const [row] = await app.prisma.$queryRawUnsafe<Array<{ id: string }>>(`
      INSERT INTO attendance_events (id, school_id, student_id, employee_no, direction, occurred_at, major, minor, kind, counts_for_attendance, source, dedupe_key)
      VALUES (COALESCE($1::bigint, nextval(pg_get_serial_sequence('attendance_events', 'id'))), $2::uuid, $3::uuid, $4, 'in', now(), 5, 75, 'face_pass', true, 'push', $5)
      RETURNING id::text`, id, school.id, student?.id ?? null, student?.employeeNo ?? '9999', randomUUID())
    return row.id
  }

  const insertStudents = (schoolId: string, count: number) => app.prisma.$executeRawUnsafe(`
    INSERT INTO students (id, school_id, employee_no, first_name, last_name, gender, version, photo_version, created_at, updated_at)
    SELECT gen_random_uuid(), $1::uuid, (100000 + n)::text, 'F' || n, 'L' || n, 'male', 1, 0, now(), now() FROM generate_series(1, $2::int) AS n`, schoolId, count)

  /** Opens the stream as this user, once it is connected: `sent()` gives the ids of the events it has sent so far. */
  async function openStream (headers: Record<string, string>, schoolId = school.id) {
    const { token } = (await app.inject({ method: 'POST', url: '/api/v1/auth/stream-token', headers })).json()
    let text = ''
    const req = get(`http://127.0.0.1:${port}/api/v1/schools/${schoolId}/events/stream?token=${token}`)
    await new Promise<void>((resolve, reject) => {
      req.on('error', reject)
      req.on('response', (res) => res.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (text.includes(': connected')) resolve()
      }))
    })
    return {
      sent: () => [...text.matchAll(/event: event\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]).id as string),
      days: () => [...text.matchAll(/event: attendance\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]) as { studentId: string, status: string }),
      close: () => req.destroy(),
    }
  }

  it('sends, exactly once, events committed after it opened with ids below ones it already sent, and none from before it opened', async () => {
    const student = await createStudent(app, school.id)
    const old = await commitEvent(student)
    const reservedBeforeOpening = await reserveId()
    const stream = await openStream((await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers)
    try {
      const reservedAfterOpening = await reserveId()
      const high = await commitEvent(student)
      expect(await until(async () => stream.sent(), (ids) => ids.includes(high))).toEqual([high])

      await commitEvent(student, reservedAfterOpening)
      await commitEvent(null, reservedBeforeOpening)
      await until(async () => stream.sent(), (ids) => ids.length === 3)
      await sleep(2500)
      expect(stream.sent().sort()).toEqual([high, reservedAfterOpening, reservedBeforeOpening].sort())
      expect(stream.sent()).not.toContain(old)
    } finally {
      stream.close()
    }
  })

  it('sends a day summary committed after a poll that it is stamped before, once', async () => {
    const student = await createStudent(app, school.id)
    const stream = await openStream((await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers)
    try {
      await sleep(1500)
      // A recompute stamps the row with its transaction's start, seconds before it commits.
      await app.prisma.$executeRawUnsafe(`
        INSERT INTO daily_attendance (school_id, student_id, date, status, updated_at)
        VALUES ($1::uuid, $2::uuid, current_date, 'PRESENT', now() - interval '5 seconds')`, school.id, student.id)
      await until(async () => stream.days(), (days) => days.length > 0)
      await sleep(2500)
      expect(stream.days()).toEqual([expect.objectContaining({ studentId: student.id, status: 'PRESENT' })])
    } finally {
      stream.close()
    }
  })

  it('sends a teacher the events of their classes\' students only', async () => {
    const [mine, theirs] = [await createClass(app, school.id), await createClass(app, school.id)]
    const [pupil, other] = [await createStudent(app, school.id, { classId: mine.id }), await createStudent(app, school.id, { classId: theirs.id })]
    const teacher = await signedInAs(app, 'TEACHER', school.id)
    await app.prisma.teacherClass.create({ data: { teacherId: teacher.user.id, classId: mine.id } })
    const stream = await openStream(teacher.headers)
    try {
      await commitEvent(other)
      await commitEvent(null)
      const visible = await commitEvent(pupil)
      await until(async () => stream.sent(), (ids) => ids.includes(visible))
      await sleep(1500)
      expect(stream.sent()).toEqual([visible])
    } finally {
      stream.close()
    }
  })

  it('sends nothing twice after it has moved past what it sent (nothing below can still commit)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const nextEvents = await openEventFeed(app.prisma, school.id, {})
      const next = async () => (await nextEvents()).map((e) => String(e.id))
      const first = await commitEvent(null)
      expect(await next()).toEqual([first])
      vi.setSystemTime(Date.now() + LATE_COMMIT_MS)
      expect(await next()).toEqual([])
      const second = await commitEvent(null)
      expect(await next()).toEqual([second])
      expect(await next()).toEqual([])
    } finally {
      vi.useRealTimers()
    }
  })

  it('sends every day of a bulk change larger than a page, each once, in the shape it always had', async () => {
    const big = await createSchool(app, { timezone: 'UTC' })
    await insertStudents(big.id, FEED_PAGE * 2 + 234)
    const studentIds = (await app.prisma.student.findMany({ where: { schoolId: big.id }, select: { id: true } })).map((st) => st.id)
    const admin = (await signedInAs(app, 'SCHOOL_ADMIN', big.id)).headers
    const stream = await openStream(admin, big.id)
    try {
      const bulk = await app.inject({ method: 'POST', url: `/api/v1/schools/${big.id}/attendance/bulk`, headers: admin, payload: { date: '2026-09-04', studentIds, status: 'EXCUSED' } })
      expect(bulk.json()).toEqual({ ok: true, updated: studentIds.length })
      await until(async () => stream.days(), (days) => days.length >= studentIds.length, 15_000)
      await sleep(2500)
      const days = stream.days()
      expect(days).toHaveLength(studentIds.length)
      expect(new Set(days.map((d) => d.studentId))).toEqual(new Set(studentIds))
      expect(Object.keys(days[0])).toEqual(['studentId', 'date', 'status', 'inSchool', 'scanCount', 'firstInAt', 'lastOutAt', 'lateMinutes'])
      expect(days[0]).toMatchObject({ date: '2026-09-04', status: 'EXCUSED', inSchool: false, scanCount: 0, firstInAt: null, lastOutAt: null, lateMinutes: 0 })
    } finally {
      stream.close()
    }
  })

  it('reads a burst of changed days larger than a page over the next calls, a page each, each once, though it grows older than LATE_COMMIT_MS', async () => {
    const burst = await createSchool(app, { timezone: 'UTC' })
    await insertStudents(burst.id, FEED_PAGE * 2 + 234)
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const nextDays = await openDayFeed(app.prisma, burst.id, {})
      // One statement, as the absence sweep writes: every row has the same updatedAt.
      await app.prisma.$executeRawUnsafe(`
        INSERT INTO daily_attendance (school_id, student_id, date, status, updated_at)
        SELECT school_id, id, current_date, 'ABSENT', now() FROM students WHERE school_id = $1::uuid`, burst.id)
      const calls: string[][] = []
      for (let i = 0; i < 4; i++) {
        calls.push((await nextDays()).map((d) => d.studentId))
        vi.setSystemTime(Date.now() + LATE_COMMIT_MS)
      }
      expect(calls.map((ids) => ids.length)).toEqual([FEED_PAGE, FEED_PAGE, 234, 0])
      const all = (await app.prisma.student.findMany({ where: { schoolId: burst.id }, select: { id: true } })).map((st) => st.id)
      expect(calls.flat().sort()).toEqual(all.sort())
    } finally {
      vi.useRealTimers()
    }
  })

  it('reads a burst of events larger than a page over the next calls, a page each, each once, though it grows older than LATE_COMMIT_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const nextEvents = await openEventFeed(app.prisma, school.id, {})
      const ids = (await app.prisma.$queryRawUnsafe<Array<{ id: string }>>(`
        INSERT INTO attendance_events (school_id, employee_no, direction, occurred_at, major, minor, kind, counts_for_attendance, source, dedupe_key)
        SELECT $1::uuid, '9999', 'in', now(), 5, 75, 'face_pass', true, 'push', gen_random_uuid()::text FROM generate_series(1, $2::int)
        RETURNING id::text`, school.id, FEED_PAGE * 2 + 234)).map((e) => e.id)
      const calls: string[][] = []
      for (let i = 0; i < 4; i++) {
        calls.push((await nextEvents()).map((e) => String(e.id)))
        vi.setSystemTime(Date.now() + LATE_COMMIT_MS)
      }
      expect(calls.map((page) => page.length)).toEqual([FEED_PAGE, FEED_PAGE, 234, 0])
      expect(calls.flat()).toEqual(ids.sort((a, b) => Number(BigInt(a) - BigInt(b))))
    } finally {
      vi.useRealTimers()
    }
  })
})
