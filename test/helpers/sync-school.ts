import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { expect } from 'vitest'
import type { Prisma } from '../../src/generated/prisma/client.js'
import { createSchool, createStudent, signedInAs } from '../factories/index.js'
import type { TestApp } from './build-test-app.js'
import { faceJpeg } from './terminals.js'

type Headers = Record<string, string>

/** A fresh school with a signed-in school admin, and the sync calls tests make against it. */
export async function syncSchool (app: TestApp, overrides: Partial<Prisma.SchoolCreateInput> = {}) {
  const school = await createSchool(app, overrides)
  const admin = (await signedInAs(app, 'SCHOOL_ADMIN', school.id)).headers
  const base = `/api/v1/schools/${school.id}`

  /** Stores a face photo without starting a sync of its own. */
  async function uploadPhoto (studentId: string, seed: number, headers: Headers = admin) {
    const res = await app.inject({ method: 'PUT', url: `${base}/students/${studentId}/photo?syncMode=none`, headers, payload: { imageBase64: (await faceJpeg(200, seed)).toString('base64') } })
    expect(res.statusCode, res.body).toBe(200)
  }

  return {
    school,
    admin,
    base,
    uploadPhoto,
    /** `n` active students, each with its own face photo when `photos` (the default). */
    async addStudents (n: number, o: { photos?: boolean, over?: Partial<Prisma.StudentUncheckedCreateInput> } = {}) {
      const students = []
      for (let i = 0; i < n; i++) {
        const s = await createStudent(app, school.id, o.over)
        if (o.photos !== false) await uploadPhoto(s.id, Number(s.employeeNo))
        students.push(s)
      }
      return students
    },
    /** Edits a student through the API without starting a sync of its own. */
    async patchStudent (studentId: string, payload: Record<string, unknown>) {
      const res = await app.inject({ method: 'PATCH', url: `${base}/students/${studentId}`, headers: admin, payload: { syncMode: 'none', ...payload } })
      expect(res.statusCode, res.body).toBe(200)
      return res.json()
    },
    /** POST /sync and its job id (202 expected). */
    async startSync (body: Record<string, unknown> = {}, headers: Headers = admin) {
      const res = await app.inject({ method: 'POST', url: `${base}/sync`, headers, payload: body })
      expect(res.statusCode, res.body).toBe(202)
      return res.json().jobId as string
    },
    async items (jobId: string, query = '') {
      const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}/items?pageSize=100${query}`, headers: admin })
      expect(res.statusCode, res.body).toBe(200)
      return res.json() as { total: number, items: Array<{ deviceId: string, studentId: string | null, employeeNo: string, action: string, status: string, step: string | null, error: { code: string | null, message: string | null } | null, note: string | null }> }
    },
  }
}

export type SyncSchool = Awaited<ReturnType<typeof syncSchool>>

/** The names on a simulated terminal, by employeeNo. */
export const namesOn = (t: { snapshot: () => { users: Array<{ employeeNo: string, name: string }> } }) =>
  Object.fromEntries(t.snapshot().users.map((u) => [u.employeeNo, u.name]))

/** Face sha256 on a simulated terminal, by employeeNo (FPID). */
export const facesOn = (t: { snapshot: () => { faces: Array<{ FPID: string, sha256: string }> } }) =>
  Object.fromEntries(t.snapshot().faces.map((f) => [f.FPID, f.sha256]))

/** sha256 of a student's stored photo file, to compare with what a terminal holds. */
export async function photoSha (app: TestApp, studentId: string) {
  const s = await app.prisma.student.findUniqueOrThrow({ where: { id: studentId } })
  const file = path.join(app.config.DATA_DIR, 'uploads', (s.photoUrl as string).replace(/^\/uploads\//, ''))
  return createHash('sha256').update(await readFile(file)).digest('hex')
}
