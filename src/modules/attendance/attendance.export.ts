import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js'
import { toDayRecord, type AttendanceService } from './attendance.service.js'

const PAGE = 1000
const COLUMNS = ['date', 'employeeNo', 'lastName', 'firstName', 'className', 'status', 'firstInAt', 'lastOutAt', 'lateMinutes', 'minutesOnPremises', 'scanCount', 'manual', 'note'] as const
type Record = ReturnType<typeof toDayRecord>

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  // Leading = + - @ would run as formulas in spreadsheet apps.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** Day rows in (date, student) order, a page at a time (keyset), so 100,000 rows never sit in memory. */
async function * pages (db: PrismaClient, where: Prisma.DailyAttendanceWhereInput, include: AttendanceService['include']) {
  let cursor: { studentId_date: { studentId: string, date: Date } } | undefined
  for (;;) {
    const rows = await db.dailyAttendance.findMany({
      where, include, orderBy: [{ date: 'asc' }, { studentId: 'asc' }], take: PAGE, ...(cursor && { cursor, skip: 1 }),
    })
    if (rows.length === 0) return
    yield rows.map(toDayRecord)
    const last = rows[rows.length - 1]
    cursor = { studentId_date: { studentId: last.studentId, date: last.date } }
    if (rows.length < PAGE) return
  }
}

async function write (out: Writable, chunk: string) {
  if (!out.write(chunk)) await once(out, 'drain')
}

export async function streamCsv (db: PrismaClient, out: Writable, where: Prisma.DailyAttendanceWhereInput, include: AttendanceService['include']) {
  await write(out, '\ufeff' + COLUMNS.join(',') + '\r\n')
  for await (const page of pages(db, where, include)) {
    await write(out, page.map((r: Record) => COLUMNS.map((c) => csvCell(r[c])).join(',')).join('\r\n') + '\r\n')
  }
  out.end()
}

export async function streamXlsx (db: PrismaClient, out: Writable, where: Prisma.DailyAttendanceWhereInput, include: AttendanceService['include']) {
  // Loaded on first export: the library is large and most processes never write a spreadsheet.
  const { default: ExcelJS } = await import('exceljs')
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false })
  const sheet = workbook.addWorksheet('Attendance')
  sheet.columns = COLUMNS.map((c) => ({ header: c, key: c, width: 16 }))
  for await (const page of pages(db, where, include)) {
    for (const r of page) sheet.addRow(Object.fromEntries(COLUMNS.map((c) => [c, r[c]]))).commit()
  }
  sheet.commit()
  await workbook.commit()
}
