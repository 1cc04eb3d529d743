import { beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createSchool, createStudent, signedInAs } from '../../../test/factories/index.js'
import { expectProblem } from '../../../test/helpers/problem.js'
import { faceJpeg } from '../../../test/helpers/terminals.js'
import { buildEventLogRequest } from '../../simulator/push.js'
import { createEventPictures } from './webhook.pictures.js'

/** A DS-K1T673-style push with a Picture part, as the bytes after the HTTP head. */
function pushWithPicture (serialNo: number, employeeNo: string, picture: Buffer) {
  const event = {
    macAddress: 'aa:00:00:00:00:09', dateTime: '2026-09-01T07:55:00+05:00', eventType: 'AccessControllerEvent', eventState: 'active',
    AccessControllerEvent: { majorEventType: 5, subEventType: 75, employeeNoString: employeeNo, serialNo, picturesNumber: 1 },
  }
  const raw = buildEventLogRequest({ ipAddress: '127.0.0.1', portNo: 80, url: '/' }, event, picture)
  return raw.subarray(raw.indexOf('\r\n\r\n') + 4)
}

describe('event pictures (EVENT_PICTURES=true)', () => {
  let app: TestApp
  let school: { id: string }
  let admin: Record<string, string>
  let secret: string

  beforeAll(async () => {
    app = await buildTestApp({ EVENT_PICTURES: 'true', EVENT_PICTURE_RETENTION_DAYS: '30' })
    school = await createSchool(app, { timezone: 'Asia/Tashkent' })
    admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
    const dirs = (await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/webhook-info`, headers: admin })).json().directions
    secret = dirs.find((d: { direction: string }) => d.direction === 'in').secret
  })

  it('keeps the picture apart from the enrolment photo, serves it to staff, and prunes it after the retention period', async () => {
    const student = await createStudent(app, school.id, { employeeNo: '5005' })
    const picture = await faceJpeg(120, 4)
    const res = await app.inject({
      method: 'POST', url: `/webhook/${school.id}/in/${secret}`, payload: pushWithPicture(1, '5005', picture),
      headers: { 'content-type': 'multipart/form-data; boundary=MIME_boundary' },
    })
    expect(res.statusCode).toBe(200)
    await app.eventProcessor.kick()
    const event = await app.prisma.attendanceEvent.findFirstOrThrow({ where: { schoolId: school.id, serialNo: 1 } })
    expect(event.picturePath).toMatch(new RegExp(`^${school.id}/\\d{4}-\\d{2}-\\d{2}/\\d+\\.jpg$`))
    expect((await app.prisma.student.findUniqueOrThrow({ where: { id: student.id } })).photoUrl).toBeNull()

    const got = await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/events/${event.id}/picture`, headers: admin })
    expect(got.statusCode).toBe(200)
    expect(got.headers['content-type']).toBe('image/jpeg')
    expect(got.rawPayload.equals(picture)).toBe(true)
    const guard = (await signedInAs(app, 'GUARD', school.id)).headers
    expect((await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/events/${event.id}/picture`, headers: guard })).statusCode).toBe(403)

    const pictures = createEventPictures({ db: app.prisma, dataDir: app.config.DATA_DIR, retentionDays: 30 })
    expect(await pictures.prune(new Date(Date.now() + 10 * 86_400_000))).toBe(0)
    expect(await pictures.prune(new Date(Date.now() + 31 * 86_400_000))).toBe(1)
    expectProblem(await app.inject({ method: 'GET', url: `/api/v1/schools/${school.id}/events/${event.id}/picture`, headers: admin }), 404, 'EVENT_PICTURE_NOT_FOUND')
  })

  it('stores no picture when pictures are off', async () => {
    const off = await buildTestApp()
    const s = await createSchool(off)
    const a = (await signedInAs(off, 'SCHOOL_ADMIN', s.id)).headers
    const dirs = (await off.inject({ method: 'GET', url: `/api/v1/schools/${s.id}/webhook-info`, headers: a })).json().directions
    const sec = dirs.find((d: { direction: string }) => d.direction === 'in').secret
    await off.inject({ method: 'POST', url: `/webhook/${s.id}/in/${sec}`, payload: pushWithPicture(2, '1', await faceJpeg(100, 2)), headers: { 'content-type': 'multipart/form-data; boundary=MIME_boundary' } })
    await off.eventProcessor.kick()
    expect(await off.prisma.attendanceEvent.findFirstOrThrow({ where: { schoolId: s.id } })).toMatchObject({ picturePath: null })
  })
})
