import type { Prisma, PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction } from '../../lib/db.js'
import { badRequest, notFound } from '../../lib/errors.js'
import { skip } from '../../lib/schemas.js'
import { localDateOf, zonedInstant } from '../../lib/timezone.js'
import { recordAudits } from '../audit/audit.repository.js'
import { visibleClassScope } from '../classes/classes.service.js'
import { isSchoolDay } from './attendance.absence.js'
import { studentInClassesSql, studentsIn } from './attendance.visibility.js'
import { toDaySummaryDto, type AttendanceListQuery, type attendanceStatuses, type RangeQuery } from './attendance.schemas.js'

const MAX_RANGE_DAYS = 366

export interface ExportFilter { schoolId: string, from: string, to: string, status: string | null, classIds: string[] | null }
const dateOnly = (d: string) => new Date(`${d}T00:00:00Z`)

type DayStatus = (typeof attendanceStatuses)[number]
const include = { student: { select: { employeeNo: true, firstName: true, lastName: true, classId: true, class: { select: { name: true } } } } } satisfies Prisma.DailyAttendanceInclude
type DayRow = Prisma.DailyAttendanceGetPayload<{ include: typeof include }>

const toDayRecord = (r: DayRow) => ({
  ...toDaySummaryDto(r),
  employeeNo: r.student.employeeNo,
  firstName: r.student.firstName,
  lastName: r.student.lastName,
  classId: r.student.classId,
  className: r.student.class?.name ?? null,
  minutesOnPremises: r.minutesOnPremises,
  manual: r.manual,
  note: r.note,
})

export function createAttendanceService ({ db }: { db: PrismaClient }) {
  async function school (schoolId: string) {
    return db.school.findUniqueOrThrow({ where: { id: schoolId }, select: { id: true, timezone: true, weekendDays: true, absenceCutoffMinutes: true } })
  }

  async function range (schoolId: string, q: Pick<RangeQuery, 'from' | 'to'>) {
    const { timezone } = await school(schoolId)
    const from = q.from ?? localDateOf(new Date(), timezone)
    const to = q.to ?? from
    if (to < from) throw badRequest('INVALID_RANGE', '`to` is before `from`')
    if ((dateOnly(to).getTime() - dateOnly(from).getTime()) / 86_400_000 > MAX_RANGE_DAYS) throw badRequest('INVALID_RANGE', `At most ${MAX_RANGE_DAYS} days at once`)
    return { from, to, timezone }
  }

  /** Students a user may see: teachers their classes' (a named class must be one of them). */
  const studentScope = async (ctx: ActorContext, classId?: string) => studentsIn(await visibleClassScope(db, ctx, classId))

  async function where (ctx: ActorContext, schoolId: string, q: RangeQuery): Promise<Prisma.DailyAttendanceWhereInput> {
    const { from, to } = await range(schoolId, q)
    return { schoolId, date: { gte: dateOnly(from), lte: dateOnly(to) }, ...(q.status && { status: q.status }), student: await studentScope(ctx, q.classId) }
  }

  /** The export's filter as SQL: the same rows `where` selects. */
  async function exportFilter (ctx: ActorContext, schoolId: string, q: RangeQuery): Promise<ExportFilter> {
    const { from, to } = await range(schoolId, q)
    return { schoolId, from, to, status: q.status ?? null, classIds: await visibleClassScope(db, ctx, q.classId) }
  }

  /** The given students (all of them visible to the user, or none) as ids; throws a 404 otherwise. */
  async function visibleStudentIds (ctx: ActorContext, schoolId: string, studentIds: string[]) {
    const found = await db.student.findMany({ where: { schoolId, id: { in: studentIds }, deletedAt: null, ...await studentScope(ctx) }, select: { id: true } })
    if (found.length !== new Set(studentIds).size) throw notFound('Student')
    return found.map((s) => s.id)
  }

  /** Sets the students' day by hand inside `tx`, with an audit entry each; returns how many days it set. */
  async function writeManual (tx: Prisma.TransactionClient, ctx: ActorContext, schoolId: string, ids: string[], date: string, status: DayStatus, note?: string | null) {
    const after = { status, manual: true, note: note ?? null }
    const before = await tx.dailyAttendance.findMany({ where: { studentId: { in: ids }, date: dateOnly(date) }, select: { studentId: true, status: true, manual: true, note: true } })
    const beforeOf = new Map(before.map(({ studentId, ...day }) => [studentId, day]))
    const set = await tx.$executeRawUnsafe(`
      INSERT INTO daily_attendance (school_id, student_id, date, status, manual, note, updated_at)
      SELECT $1::uuid, id, $2::date, $3::"AttendanceStatus", true, $4, $6::timestamptz FROM unnest($5::uuid[]) AS id
      ON CONFLICT (student_id, date) DO UPDATE SET status = EXCLUDED.status, manual = true, note = EXCLUDED.note, updated_at = EXCLUDED.updated_at`,
    schoolId, date, status, after.note, ids, new Date())
    await recordAudits(tx, ctx, ids.map((id) => ({
      action: 'set_attendance', entity: 'attendance', entityId: `${id}/${date}`, schoolId, before: beforeOf.get(id) ?? null, after,
    })))
    return set
  }

  return {
    exportFilter,

    async list (ctx: ActorContext, schoolId: string, q: AttendanceListQuery) {
      const w = await where(ctx, schoolId, q)
      const [rows, total] = await Promise.all([
        db.dailyAttendance.findMany({ where: w, include, orderBy: [{ date: 'asc' }, { student: { lastName: 'asc' } }, { studentId: 'asc' }], skip: skip(q), take: q.pageSize }),
        db.dailyAttendance.count({ where: w }),
      ])
      return { items: rows.map(toDayRecord), total }
    },

    /** Today per class: present / late / absent / excused / not yet arrived, and who is in school now. */
    async today (ctx: ActorContext, schoolId: string) {
      const s = await school(schoolId)
      const date = localDateOf(new Date(), s.timezone)
      const students = await db.student.findMany({
        where: { schoolId, status: 'active', deletedAt: null, ...await studentScope(ctx) },
        select: { id: true, firstName: true, lastName: true, classId: true, class: { select: { name: true } } },
      })
      const days = new Map((await db.dailyAttendance.findMany({ where: { schoolId, date: dateOnly(date) } })).map((d) => [d.studentId, d]))
      const empty = () => ({ total: 0, present: 0, late: 0, absent: 0, excused: 0, notYetArrived: 0 })
      const classes = new Map<string | null, ReturnType<typeof empty> & { className: string | null }>()
      const totals = empty()
      const inSchoolNow = []
      for (const st of students) {
        const c = classes.get(st.classId) ?? { ...empty(), className: st.class?.name ?? null }
        classes.set(st.classId, c)
        const day = days.get(st.id)
        const key = day ? (day.status.toLowerCase() as 'present' | 'late' | 'absent' | 'excused') : 'notYetArrived'
        for (const bucket of [c, totals]) {
          bucket.total++
          bucket[key]++
        }
        if (day?.inSchool) inSchoolNow.push({ studentId: st.id, firstName: st.firstName, lastName: st.lastName, classId: st.classId, since: day.firstInAt?.toISOString() ?? null })
      }
      return {
        date, timezone: s.timezone, schoolDay: await isSchoolDay(db, s, date), totals,
        classes: [...classes.entries()].map(([classId, c]) => ({ classId, ...c })).sort((a, b) => (a.className ?? '').localeCompare(b.className ?? '')),
        inSchoolNow,
      }
    },

    async stats (ctx: ActorContext, schoolId: string, q: { by: 'hour' | 'day' | 'class' | 'device', from?: string, to?: string, classId?: string }) {
      const { from, to, timezone } = await range(schoolId, q)
      const start = zonedInstant(from, '00:00', timezone)
      const end = zonedInstant(new Date(dateOnly(to).getTime() + 86_400_000).toISOString().slice(0, 10), '00:00', timezone)
      const classIds = await visibleClassScope(db, ctx, q.classId)
      if (q.by === 'hour' || q.by === 'device') {
        const hour = q.by === 'hour'
        const key = hour ? 'to_char(occurred_at AT TIME ZONE $5, \'HH24\')' : 'device_id::text'
        const rows = await db.$queryRawUnsafe<Array<{ key: string | null, scans: bigint }>>(`
          SELECT ${key} AS key, count(*) AS scans FROM attendance_events
          WHERE school_id = $1::uuid AND counts_for_attendance AND occurred_at >= $2 AND occurred_at < $3 AND ${studentInClassesSql('student_id', 4)}
          GROUP BY 1 ORDER BY 1`, schoolId, start, end, classIds, ...(hour ? [timezone] : []))
        const names = q.by === 'device' ? new Map((await db.device.findMany({ where: { schoolId }, select: { id: true, name: true } })).map((d) => [d.id, d.name])) : null
        return { by: q.by, from, to, rows: rows.map((r) => ({ key: r.key, label: names ? names.get(r.key ?? '') ?? null : r.key, scans: Number(r.scans) })) }
      }
      const key = q.by === 'day' ? 'to_char(d.date, \'YYYY-MM-DD\')' : 's.class_id::text'
      const rows = await db.$queryRawUnsafe<Array<{ key: string | null, label: string | null, present: bigint, late: bigint, absent: bigint, excused: bigint }>>(`
        SELECT ${key} AS key, ${q.by === 'class' ? 'max(c.name)' : 'to_char(d.date, \'YYYY-MM-DD\')'} AS label,
          count(*) FILTER (WHERE d.status = 'PRESENT') AS present, count(*) FILTER (WHERE d.status = 'LATE') AS late,
          count(*) FILTER (WHERE d.status = 'ABSENT') AS absent, count(*) FILTER (WHERE d.status = 'EXCUSED') AS excused
        FROM daily_attendance d JOIN students s ON s.id = d.student_id LEFT JOIN classes c ON c.id = s.class_id
        WHERE d.school_id = $1::uuid AND d.date >= $2::date AND d.date <= $3::date AND ${studentInClassesSql('d.student_id', 4)}
        GROUP BY ${q.by === 'day' ? 'd.date' : 's.class_id'} ORDER BY 2`, schoolId, from, to, classIds)
      return { by: q.by, from, to, rows: rows.map((r) => ({ key: r.key, label: r.label, present: Number(r.present), late: Number(r.late), absent: Number(r.absent), excused: Number(r.excused) })) }
    },

    /** Sets a day by hand (e.g. EXCUSED); later scans update its facts but never its status. Audited. Returns the day. */
    async setManual (ctx: ActorContext, schoolId: string, studentId: string, date: string, status: DayStatus, note?: string | null) {
      const ids = await visibleStudentIds(ctx, schoolId, [studentId])
      return withTransaction(db, async (tx) => {
        await writeManual(tx, ctx, schoolId, ids, date, status, note)
        return toDayRecord(await tx.dailyAttendance.findUniqueOrThrow({ where: { studentId_date: { studentId, date: dateOnly(date) } }, include }))
      })
    },

    /** setManual for many students at once (all or none); returns how many days it set, not the days. */
    async setManualBulk (ctx: ActorContext, schoolId: string, studentIds: string[], date: string, status: DayStatus, note?: string | null) {
      const ids = await visibleStudentIds(ctx, schoolId, studentIds)
      return withTransaction(db, (tx) => writeManual(tx, ctx, schoolId, ids, date, status, note))
    },
  }
}

export type AttendanceService = ReturnType<typeof createAttendanceService>
