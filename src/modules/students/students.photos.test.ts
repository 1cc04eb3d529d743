import { randomUUID } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, type TestApp } from '../../../test/helpers/build-test-app.js'
import { createClass, createSchool, createStudent, createUser, login, signedInAs } from '../../../test/factories/index.js'
import { createMediaSigner } from '../media/media.signing.js'

const app = await buildTestApp()
const limited = await buildTestApp({ UPLOAD_MAX_BYTES: '100000' })
const api = '/api/v1'
const MEDIA_SECRET = 'test-media-secret-that-is-long-enough-0123456789'
const PUBLIC_BASE_URL = 'http://127.0.0.1:3999'
const signer = createMediaSigner({ secret: MEDIA_SECRET, publicBaseUrl: PUBLIC_BASE_URL })

// The student plus `sync` (null: these schools have no devices).
const STUDENT_KEYS = [
  'classId', 'createdAt', 'employeeNo', 'fatherName', 'firstName', 'gender', 'id', 'lastName',
  'parentPhone', 'photoUrl', 'schoolId', 'status', 'sync', 'updatedAt',
].sort()

type Headers = Record<string, string>
const facesDir = (testApp: TestApp = app) => path.join(testApp.config.DATA_DIR, 'uploads', 'student-faces')
const photoUrl = (schoolId: string, studentId: string) => `${api}/schools/${schoolId}/students/${studentId}/photo`
const filesOf = async (studentId: string, testApp: TestApp = app) =>
  (await readdir(facesDir(testApp)).catch(() => [] as string[])).filter((f) => f.startsWith(studentId)).sort()

function expectProblem (res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json()
  expect(body.code).toBe(code)
  expect(body.requestId).toBe(res.headers['x-request-id'])
  return body
}

function expectValidation (res: LightMyRequestResponse, field: string) {
  const body = expectProblem(res, 400, 'VALIDATION_FAILED')
  expect(body.errors.map((e: { field: string }) => e.field)).toContain(field)
}

/** A multipart/form-data body as Node's own FormData encodes it. */
async function multipartBody (parts: Array<{ name: string, data: Buffer | string, filename?: string, type?: string }>) {
  const form = new FormData()
  for (const p of parts) {
    if (p.filename === undefined) form.append(p.name, typeof p.data === 'string' ? p.data : p.data.toString())
    else form.append(p.name, new Blob([new Uint8Array(p.data as Buffer)], { type: p.type ?? 'application/octet-stream' }), p.filename)
  }
  const encoded = new Response(form)
  return { payload: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! }
}

async function putMultipart (schoolId: string, studentId: string, file: Buffer, headers: Headers, { field = 'photo', filename = 'face.jpg', type = 'image/jpeg', testApp = app } = {}) {
  const { payload, contentType } = await multipartBody([{ name: 'note', data: 'from the test' }, { name: field, data: file, filename, type }])
  return testApp.inject({ method: 'PUT', url: photoUrl(schoolId, studentId), headers: { ...headers, 'content-type': contentType }, payload })
}

const putBase64 = (schoolId: string, studentId: string, imageBase64: string, headers: Headers, testApp: TestApp = app) =>
  testApp.inject({ method: 'PUT', url: photoUrl(schoolId, studentId), headers, payload: { imageBase64 } })

/** Deterministic noise (xorshift32), so the big JPEG really is big. */
function noiseBytes (length: number, seed = 0x9e3779b9) {
  const out = Buffer.alloc(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

const images = {} as Record<'png' | 'jpeg' | 'big' | 'rotated' | 'tiny', Buffer>
let garbage: Buffer

let schoolId: string
let otherSchoolId: string
let classA: string
let classB: string
let operator: Headers
let admin: Headers
let teacher: Headers
let guard: Headers
let otherAdmin: Headers

beforeAll(async () => {
  images.png = await sharp({ create: { width: 240, height: 300, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 0.5 } } }).png().toBuffer()
  images.jpeg = await sharp({ create: { width: 320, height: 400, channels: 3, background: '#c08040' } }).jpeg().toBuffer()
  images.big = await sharp(noiseBytes(2200 * 1800 * 3), { raw: { width: 2200, height: 1800, channels: 3 } }).jpeg({ quality: 100 }).toBuffer()
  images.rotated = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#208020' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer()
  images.tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000000' } }).png().toBuffer()
  garbage = noiseBytes(20_000, 42)

  const school = await createSchool(app)
  const other = await createSchool(app)
  schoolId = school.id
  otherSchoolId = other.id
  classA = (await createClass(app, schoolId)).id
  classB = (await createClass(app, schoolId)).id
  operator = (await signedInAs(app, 'OPERATOR', schoolId)).headers
  admin = (await signedInAs(app, 'SCHOOL_ADMIN', schoolId)).headers
  const t = await signedInAs(app, 'TEACHER', schoolId)
  await app.prisma.teacherClass.create({ data: { teacherId: t.user.id, classId: classA } })
  teacher = t.headers
  guard = (await signedInAs(app, 'GUARD', schoolId)).headers
  otherAdmin = (await signedInAs(app, 'SCHOOL_ADMIN', otherSchoolId)).headers
})

const newStudent = (overrides: Parameters<typeof createStudent>[2] = {}) => createStudent(app, schoolId, { classId: classA, ...overrides })
const rowOf = (id: string) => app.prisma.student.findUniqueOrThrow({ where: { id } })

async function expectStoredFace (studentId: string, version: number) {
  const file = path.join(facesDir(), `${studentId}-${version}.jpg`)
  const bytes = await readFile(file)
  expect(bytes.length).toBeLessThanOrEqual(200 * 1024)
  const meta = await sharp(bytes).metadata()
  expect(meta.format).toBe('jpeg')
  expect(Math.min(meta.width, meta.height)).toBeGreaterThanOrEqual(80)
  return { bytes, meta }
}

describe('PUT /schools/:schoolId/students/:studentId/photo', () => {
  it('takes a multipart PNG: stores a JPEG under uploads/student-faces/{id}-{version}.jpg and keeps only the URL', async () => {
    const student = await newStudent()
    const res = await putMultipart(schoolId, student.id, images.png, operator, { filename: 'face.png', type: 'image/png' })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(STUDENT_KEYS)
    expect(body.sync).toBeNull()
    expect(body.photoUrl).toBe(`/uploads/student-faces/${student.id}-1.jpg`)
    expect(body).toMatchObject({ id: student.id, employeeNo: student.employeeNo, firstName: student.firstName })

    const { meta } = await expectStoredFace(student.id, 1)
    expect([meta.width, meta.height]).toEqual([240, 300])
    expect(await filesOf(student.id)).toEqual([`${student.id}-1.jpg`])
    const row = await rowOf(student.id)
    expect(row).toMatchObject({ photoUrl: body.photoUrl, photoVersion: 1, version: student.version + 1 })

    const audits = await app.prisma.auditLog.findMany({ where: { entity: 'student', entityId: student.id } })
    expect(audits).toEqual([expect.objectContaining({ action: 'update_photo', changes: { photoUrl: { before: null, after: body.photoUrl } } })])
  })

  it('accepts the file part under any field name', async () => {
    const student = await newStudent()
    const res = await putMultipart(schoolId, student.id, images.jpeg, admin, { field: 'file' })
    expect(res.statusCode, res.body).toBe(200)
    await expectStoredFace(student.id, 1)
  })

  it('takes a 5 MB JPEG by multipart and stores it below 200 KB', async () => {
    expect(images.big.length).toBeGreaterThanOrEqual(5 * 1024 * 1024)
    const student = await newStudent()
    const res = await putMultipart(schoolId, student.id, images.big, operator)
    expect(res.statusCode, res.body).toBe(200)
    const { bytes, meta } = await expectStoredFace(student.id, 1)
    expect(bytes.length).toBeLessThan(images.big.length / 10)
    expect(meta.width).toBeGreaterThan(meta.height)
  })

  it('takes base64 JSON, plain or as a data: URL', async () => {
    const plain = await newStudent()
    const res = await putBase64(schoolId, plain.id, images.jpeg.toString('base64'), operator)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().photoUrl).toBe(`/uploads/student-faces/${plain.id}-1.jpg`)
    await expectStoredFace(plain.id, 1)

    const dataUrl = await newStudent()
    const res2 = await putBase64(schoolId, dataUrl.id, `data:image/png;base64,${images.png.toString('base64')}`, operator)
    expect(res2.statusCode, res2.body).toBe(200)
    await expectStoredFace(dataUrl.id, 1)
  })

  it('stores an EXIF-rotated JPEG upright', async () => {
    const student = await newStudent()
    const res = await putBase64(schoolId, student.id, images.rotated.toString('base64'), operator)
    expect(res.statusCode, res.body).toBe(200)
    const { meta } = await expectStoredFace(student.id, 1)
    expect([meta.width, meta.height]).toEqual([200, 400])
    expect(meta.orientation).toBeUndefined()
  })

  it('bumps the version on every upload and deletes the old file', async () => {
    const student = await newStudent()
    expect((await putMultipart(schoolId, student.id, images.jpeg, operator)).statusCode).toBe(200)
    const second = await putBase64(schoolId, student.id, images.png.toString('base64'), operator)
    expect(second.statusCode, second.body).toBe(200)
    expect(second.json().photoUrl).toBe(`/uploads/student-faces/${student.id}-2.jpg`)
    expect(await filesOf(student.id)).toEqual([`${student.id}-2.jpg`])
    expect(await rowOf(student.id)).toMatchObject({ photoVersion: 2, version: student.version + 2, photoUrl: second.json().photoUrl })
  })

  it('gives concurrent uploads distinct versions and leaves exactly the newest file', async () => {
    const body = images.jpeg.toString('base64')
    for (let round = 0; round < 5; round++) {
      const student = await newStudent()
      const results = await Promise.all([
        putMultipart(schoolId, student.id, images.jpeg, operator),
        ...Array.from({ length: 3 }, () => putBase64(schoolId, student.id, body, operator)),
      ])
      for (const r of results) expect(r.statusCode, r.body).toBe(200)
      expect(results.map((r) => r.json().photoUrl).sort()).toEqual([1, 2, 3, 4].map((v) => `/uploads/student-faces/${student.id}-${v}.jpg`))
      const row = await rowOf(student.id)
      expect(row).toMatchObject({ photoVersion: 4, photoUrl: `/uploads/student-faces/${student.id}-4.jpg` })
      expect(await filesOf(student.id)).toEqual([`${student.id}-4.jpg`])
      expect((await readdir(facesDir())).filter((f) => f.endsWith('.tmp'))).toEqual([])
      const got = await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id), headers: operator })
      expect(got.statusCode).toBe(200)
    }
  })

  describe('a photo that cannot be used changes nothing about the student', () => {
    let student: Awaited<ReturnType<typeof newStudent>>
    let before: Awaited<ReturnType<typeof rowOf>>
    let fileBefore: Buffer

    beforeAll(async () => {
      student = await newStudent()
      expect((await putMultipart(schoolId, student.id, images.jpeg, operator)).statusCode).toBe(200)
      before = await rowOf(student.id)
      fileBefore = await readFile(path.join(facesDir(), `${student.id}-1.jpg`))
    })

    async function expectUnchanged () {
      const after = await rowOf(student.id)
      expect(after).toEqual(before)
      expect(await readdir(facesDir()).then((files) => files.filter((f) => f.startsWith(student.id)))).toEqual([`${student.id}-1.jpg`])
      expect(await readFile(path.join(facesDir(), `${student.id}-1.jpg`))).toEqual(fileBefore)
      expect(await app.prisma.auditLog.count({ where: { entityId: student.id, action: 'update_photo' } })).toBe(1)
    }

    it.each([
      ['garbage bytes by multipart', () => putMultipart(schoolId, student.id, garbage, operator)],
      ['an empty file part', () => putMultipart(schoolId, student.id, Buffer.alloc(0), operator)],
      ['garbage bytes as base64', () => putBase64(schoolId, student.id, garbage.toString('base64'), operator)],
      ['text that is not base64', () => putBase64(schoolId, student.id, 'this is not base64 at all!', operator)],
      ['an empty data: URL', () => putBase64(schoolId, student.id, 'data:image/jpeg;base64,', operator)],
    ])('422 PHOTO_INVALID for %s', async (_name, send) => {
      const body = expectProblem(await send(), 422, 'PHOTO_INVALID')
      expect(body.status).toBe(422)
      await expectUnchanged()
    })

    it('422 PHOTO_TOO_SMALL for a 1×1 image', async () => {
      expectProblem(await putMultipart(schoolId, student.id, images.tiny, operator, { type: 'image/png' }), 422, 'PHOTO_TOO_SMALL')
      expectProblem(await putBase64(schoolId, student.id, images.tiny.toString('base64'), operator), 422, 'PHOTO_TOO_SMALL')
      await expectUnchanged()
    })

    it('400 when no photo is sent', async () => {
      expectValidation(await app.inject({ method: 'PUT', url: photoUrl(schoolId, student.id), headers: operator, payload: {} }), 'imageBase64')
      expectValidation(await putBase64(schoolId, student.id, '', operator), 'imageBase64')
      expectProblem(await app.inject({ method: 'PUT', url: photoUrl(schoolId, student.id), headers: operator }), 400, 'PHOTO_MISSING')
      const { payload, contentType } = await multipartBody([{ name: 'note', data: 'no file here' }])
      expectProblem(await app.inject({ method: 'PUT', url: photoUrl(schoolId, student.id), headers: { ...operator, 'content-type': contentType }, payload }), 400, 'PHOTO_MISSING')
      await expectUnchanged()
    })

    it('415 for a raw image body', async () => {
      const res = await app.inject({ method: 'PUT', url: photoUrl(schoolId, student.id), headers: { ...operator, 'content-type': 'image/jpeg' }, payload: images.jpeg })
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
      await expectUnchanged()
    })

    it('401 without a token, 403 for a teacher or a guard', async () => {
      const { payload, contentType } = await multipartBody([{ name: 'photo', data: images.png, filename: 'a.png' }])
      expectProblem(await app.inject({ method: 'PUT', url: photoUrl(schoolId, student.id), headers: { 'content-type': contentType }, payload }), 401, 'UNAUTHORIZED')
      expectProblem(await putBase64(schoolId, student.id, images.png.toString('base64'), {}), 401, 'UNAUTHORIZED')
      expectProblem(await putMultipart(schoolId, student.id, images.png, teacher), 403, 'FORBIDDEN')
      expectProblem(await putBase64(schoolId, student.id, images.png.toString('base64'), guard), 403, 'FORBIDDEN')
      await expectUnchanged()
    })

    it('404 from another school', async () => {
      expectProblem(await putMultipart(schoolId, student.id, images.png, otherAdmin), 404, 'SCHOOL_NOT_FOUND')
      expectProblem(await putBase64(otherSchoolId, student.id, images.png.toString('base64'), otherAdmin), 404, 'STUDENT_NOT_FOUND')
      await expectUnchanged()
    })
  })

  it('answers 400 naming studentId for a malformed id', async () => {
    expectValidation(await putBase64(schoolId, 'not-a-uuid', images.png.toString('base64'), operator), 'studentId')
  })

  it('answers 404 for an unknown or deleted student, and writes no file', async () => {
    const unknown = randomUUID()
    expectProblem(await putMultipart(schoolId, unknown, images.png, operator), 404, 'STUDENT_NOT_FOUND')
    expect(await filesOf(unknown)).toEqual([])
    const gone = await newStudent({ deletedAt: new Date() })
    expectProblem(await putBase64(schoolId, gone.id, images.png.toString('base64'), operator), 404, 'STUDENT_NOT_FOUND')
    expect(await filesOf(gone.id)).toEqual([])
    expect((await rowOf(gone.id)).photoUrl).toBeNull()
  })
})

describe('GET /schools/:schoolId/students/:studentId/photo', () => {
  let student: Awaited<ReturnType<typeof newStudent>>
  let stored: Buffer

  beforeAll(async () => {
    student = await newStudent({ classId: classA })
    expect((await putMultipart(schoolId, student.id, images.png, operator)).statusCode).toBe(200)
    stored = await readFile(path.join(facesDir(), `${student.id}-1.jpg`))
  })

  it('returns the stored JPEG, privately', async () => {
    const res = await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id), headers: operator })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('image/jpeg')
    expect(res.headers['cache-control']).toMatch(/private/)
    expect(Number(res.headers['content-length'])).toBe(stored.length)
    expect(res.rawPayload).toEqual(stored)
  })

  it('needs a token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id) }), 401, 'UNAUTHORIZED')
  })

  it('lets a teacher see faces of its classes only, and never a guard', async () => {
    expect((await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id), headers: teacher })).statusCode).toBe(200)
    const elsewhere = await newStudent({ classId: classB })
    expect((await putBase64(schoolId, elsewhere.id, images.jpeg.toString('base64'), operator)).statusCode).toBe(200)
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(schoolId, elsewhere.id), headers: teacher }), 404, 'STUDENT_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id), headers: guard }), 403, 'FORBIDDEN')
  })

  it('answers 404 across schools', async () => {
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(schoolId, student.id), headers: otherAdmin }), 404, 'SCHOOL_NOT_FOUND')
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(otherSchoolId, student.id), headers: otherAdmin }), 404, 'STUDENT_NOT_FOUND')
  })

  it('answers 400 naming studentId for a malformed id', async () => {
    expectValidation(await app.inject({ method: 'GET', url: photoUrl(schoolId, '123'), headers: operator }), 'studentId')
  })

  it('answers 404 PHOTO_NOT_FOUND for a student without a photo', async () => {
    const bare = await newStudent()
    expectProblem(await app.inject({ method: 'GET', url: photoUrl(schoolId, bare.id), headers: operator }), 404, 'PHOTO_NOT_FOUND')
  })
})

describe('GET /uploads/student-faces/:file (signed links for terminals)', () => {
  let student: Awaited<ReturnType<typeof newStudent>>
  let url: string
  let stored: Buffer
  const inject = (signed: string, headers: Headers = {}) => {
    const u = new URL(signed)
    return app.inject({ method: 'GET', url: `${u.pathname}${u.search}`, headers })
  }

  beforeAll(async () => {
    student = await newStudent()
    const res = await putBase64(schoolId, student.id, images.jpeg.toString('base64'), operator)
    url = res.json().photoUrl
    stored = await readFile(path.join(facesDir(), `${student.id}-1.jpg`))
  })

  it('serves the face without a bearer token to whoever holds a valid signed URL', async () => {
    const signed = signer.signedUrl(url, 600)
    expect(signed.startsWith(`${PUBLIC_BASE_URL}${url}?expires=`)).toBe(true)
    const res = await inject(signed)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toBe('image/jpeg')
    expect(res.rawPayload).toEqual(stored)
  })

  it('builds the same links from a base URL with a trailing slash', async () => {
    const slashed = createMediaSigner({ secret: MEDIA_SECRET, publicBaseUrl: `${PUBLIC_BASE_URL}/` })
    const now = Date.now()
    const link = slashed.signedUrl(url, 600, now)
    expect(link).toBe(signer.signedUrl(url, 600, now))
    expect((await inject(link)).statusCode).toBe(200)
  })

  it('is not public: the bare URL is refused', async () => {
    const res = await app.inject({ method: 'GET', url })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).not.toBe('image/jpeg')
    expect((await app.inject({ method: 'GET', url, headers: operator })).statusCode).toBe(400)
  })

  it('answers 403 MEDIA_LINK_INVALID for a tampered signature, expiry or path, or another secret', async () => {
    const signed = new URL(signer.signedUrl(url, 600))
    const sig = signed.searchParams.get('sig')!
    const expires = Number(signed.searchParams.get('expires'))

    const tamperedSig = new URL(signed)
    tamperedSig.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`)
    expectProblem(await inject(tamperedSig.toString()), 403, 'MEDIA_LINK_INVALID')

    const longer = new URL(signed)
    longer.searchParams.set('expires', String(expires + 86_400))
    expectProblem(await inject(longer.toString()), 403, 'MEDIA_LINK_INVALID')

    const other = await newStudent()
    expect((await putBase64(schoolId, other.id, images.png.toString('base64'), operator)).statusCode).toBe(200)
    const otherFile = new URL(signed)
    otherFile.pathname = `/uploads/student-faces/${other.id}-1.jpg`
    expectProblem(await inject(otherFile.toString()), 403, 'MEDIA_LINK_INVALID')

    const forged = createMediaSigner({ secret: 'another-secret-that-is-long-enough-0123456789', publicBaseUrl: PUBLIC_BASE_URL })
    expectProblem(await inject(forged.signedUrl(url, 600)), 403, 'MEDIA_LINK_INVALID')
  })

  it('answers 403 MEDIA_LINK_EXPIRED once the expiry has passed', async () => {
    const signed = signer.signedUrl(url, 60, Date.now() - 3_600_000)
    expectProblem(await inject(signed), 403, 'MEDIA_LINK_EXPIRED')
  })

  it('rejects a file name that is not a photo', async () => {
    const res = await app.inject({ method: 'GET', url: '/uploads/student-faces/..%2f..%2fsecrets.json?expires=9999999999&sig=aaaaaaaaaaaaaaaa' })
    expect(res.statusCode).toBe(400)
  })

  it('answers 404 for a correctly signed link to a replaced photo', async () => {
    const replaced = await newStudent()
    await putBase64(schoolId, replaced.id, images.png.toString('base64'), operator)
    const oldUrl = `/uploads/student-faces/${replaced.id}-1.jpg`
    await putBase64(schoolId, replaced.id, images.jpeg.toString('base64'), operator)
    expectProblem(await inject(signer.signedUrl(oldUrl, 600)), 404, 'PHOTO_NOT_FOUND')
  })
})

describe('when the audit row cannot be written', () => {
  // A trigger refuses audit rows of one actor: the upload must then leave neither row nor file behind.
  let failing: Headers
  beforeAll(async () => {
    const user = await createUser(app, 'OPERATOR', schoolId, { email: `audit-fail-${randomUUID().slice(0, 8)}@example.test` })
    failing = (await login(app, user.email)).headers
    await app.prisma.$executeRawUnsafe(`
      CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.actor_email LIKE 'audit-fail-%' THEN RAISE EXCEPTION 'audit refused'; END IF;
        RETURN NEW;
      END $$`)
    await app.prisma.$executeRawUnsafe('CREATE TRIGGER fail_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION fail_audit()')
  })

  it('rolls the photo back and removes the new file, keeping the old one', async () => {
    const student = await newStudent()
    expect((await putBase64(schoolId, student.id, images.png.toString('base64'), operator)).statusCode).toBe(200)
    const before = await rowOf(student.id)
    const res = await putMultipart(schoolId, student.id, images.jpeg, failing)
    expectProblem(res, 500, 'INTERNAL_ERROR')
    expect(await rowOf(student.id)).toEqual(before)
    expect(await filesOf(student.id)).toEqual([`${student.id}-1.jpg`])
    expect((await readdir(facesDir())).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})

describe('upload limits', () => {
  let school: string
  let headers: Headers
  let studentId: string
  beforeAll(async () => {
    school = (await createSchool(limited)).id
    headers = (await signedInAs(limited, 'OPERATOR', school)).headers
    studentId = (await createStudent(limited, school)).id
  })

  it('answers 413 for a file above UPLOAD_MAX_BYTES, by multipart or base64, and stores nothing', async () => {
    const big = noiseBytes(150_000, 9)
    expectProblem(await putMultipart(school, studentId, big, headers, { testApp: limited }), 413, 'BODY_TOO_LARGE')
    expectProblem(await putBase64(school, studentId, big.toString('base64'), headers, limited), 413, 'BODY_TOO_LARGE')
    expect(await filesOf(studentId, limited)).toEqual([])
    expect((await limited.prisma.student.findUniqueOrThrow({ where: { id: studentId } })).photoUrl).toBeNull()
    expect(await stat(facesDir(limited)).then(() => true, () => false)).toBe(false)
  })
})
