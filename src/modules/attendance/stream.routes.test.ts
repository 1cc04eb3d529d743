import { randomUUID } from 'node:crypto'
import { get } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { until } from '../../../test/helpers/until.js'
import { LATE_COMMIT_MS, openEventFeed } from './events.feed.js'

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

  /** Opens the stream as this user, once it is connected: `sent()` gives the ids of the events it has sent so far. */
  async function openStream (headers: Record<string, string>) {
    const { token } = (await app.inject({ method: 'POST', url: '/api/v1/auth/stream-token', headers })).json()
    let text = ''
    const req = get(`http://127.0.0.1:${port}/api/v1/schools/${school.id}/events/stream?token=${token}`)
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
})
