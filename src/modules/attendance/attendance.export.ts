import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type { PrismaClient } from '../../generated/prisma/client.js'
import type { ExportFilter } from './attendance.service.js'
import { studentInClassesSql } from './attendance.visibility.js'

const PAGE = 2000
const COLUMNS = ['date', 'employeeNo', 'lastName', 'firstName', 'className', 'status', 'firstInAt', 'lastOutAt', 'lateMinutes', 'minutesOnPremises', 'scanCount', 'manual', 'note'] as const

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  // Leading = + - @ would run as formulas in spreadsheet apps.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

interface ExportRow {
  date: string, student_id: string, employee_no: string, first_name: string, last_name: string, class_name: string | null, status: string,
  first_in_at: Date | null, last_out_at: Date | null, late_minutes: number, minutes_on_premises: number, scan_count: number, manual: boolean, note: string | null
}

const toRecord = (r: ExportRow) => ({
  date: r.date, employeeNo: r.employee_no, lastName: r.last_name, firstName: r.first_name, className: r.class_name, status: r.status,
  firstInAt: r.first_in_at?.toISOString() ?? null, lastOutAt: r.last_out_at?.toISOString() ?? null, lateMinutes: r.late_minutes,
  minutesOnPremises: r.minutes_on_premises, scanCount: r.scan_count, manual: r.manual, note: r.note,
})

/** Day rows in (date, student) order, a page at a time (keyset), so 100,000 rows never sit in memory. */
async function * pages (db: PrismaClient, f: ExportFilter) {
  let after: { date: string, studentId: string } | null = null
  for (;;) {
    const rows: ExportRow[] = await db.$queryRawUnsafe(`
      SELECT to_char(d.date, 'YYYY-MM-DD') AS date, d.student_id::text, s.employee_no, s.first_name, s.last_name, c.name AS class_name,
             d.status::text, d.first_in_at, d.last_out_at, d.late_minutes, d.minutes_on_premises, d.scan_count, d.manual, d.note
      FROM daily_attendance d JOIN students s ON s.id = d.student_id LEFT JOIN classes c ON c.id = s.class_id
      WHERE d.school_id = $1::uuid AND d.date BETWEEN $2::date AND $3::date
        AND ($4::text IS NULL OR d.status::text = $4) AND ${studentInClassesSql('d.student_id', 5)}
        ${after ? 'AND (d.date, d.student_id) > ($6::date, $7::uuid)' : ''}
      ORDER BY d.date, d.student_id LIMIT ${PAGE}`,
    f.schoolId, f.from, f.to, f.status, f.classIds, ...(after ? [after.date, after.studentId] : []))
    if (rows.length === 0) return
    yield rows.map(toRecord)
    const last = rows[rows.length - 1]
    after = { date: last.date, studentId: last.student_id }
    if (rows.length < PAGE) return
  }
}

async function write (out: Writable, chunk: string) {
  if (!out.write(chunk)) await once(out, 'drain')
}

export async function streamCsv (db: PrismaClient, out: Writable, filter: ExportFilter) {
  await write(out, '\ufeff' + COLUMNS.join(',') + '\r\n')
  for await (const page of pages(db, filter)) {
    await write(out, page.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(',')).join('\r\n') + '\r\n')
  }
  out.end()
}

export async function streamXlsx (db: PrismaClient, out: Writable, filter: ExportFilter) {
  // Loaded on first export: the library is large and most processes never write a spreadsheet.
  const { default: ExcelJS } = await import('exceljs')
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false })
  const sheet = workbook.addWorksheet('Attendance')
  sheet.columns = COLUMNS.map((c) => ({ header: c, key: c, width: 16 }))
  for await (const page of pages(db, filter)) {
    for (const r of page) sheet.addRow(Object.fromEntries(COLUMNS.map((c) => [c, r[c]]))).commit()
  }
  sheet.commit()
  await workbook.commit()
}
