import { randomUUID } from 'node:crypto'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Prisma, PrismaClient, Student } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction } from '../../lib/db.js'
import { notFound } from '../../lib/errors.js'
import { normaliseFacePhoto } from '../../lib/face-photo.js'
import { recordAudit } from '../audit/audit.repository.js'
import { createStudentsRepository } from './students.repository.js'

export const photoUrlFor = (studentId: string, version: number) => `/uploads/student-faces/${studentId}-${version}.jpg`

/** Stores an already normalised JPEG as the student's photo, inside the transaction it was handed. */
export type PutPhoto = (ctx: ActorContext, schoolId: string, studentId: string, jpeg: Buffer) => Promise<Student>

/** Photos live on disk under uploadsDir; the database keeps only their URL. */
export function createStudentPhotosService ({ db, uploadsDir }: { db: PrismaClient, uploadsDir: string }) {
  const fileFor = (photoUrl: string) => path.join(uploadsDir, photoUrl.replace(/^\/uploads\//, ''))

  /**
   * Runs `work` in one transaction in which `put` stores photos: the files of a transaction that
   * rolls back are deleted, and the files they replaced only once it has committed.
   */
  async function transaction<T> (work: (tx: Prisma.TransactionClient, put: PutPhoto) => Promise<T>): Promise<T> {
    const written: string[] = []
    const replaced: string[] = []
    try {
      const result = await withTransaction(db, (tx) => work(tx, async (ctx, schoolId, studentId, jpeg) => {
        // Concurrent uploads for one student queue here, so each gets its own version.
        await createStudentsRepository(tx).lockRow(studentId)
        const before = await tx.student.findFirst({ where: { id: studentId, schoolId, deletedAt: null } })
        if (!before) throw notFound('Student')
        const version = before.photoVersion + 1
        const photoUrl = photoUrlFor(studentId, version)
        written.push(fileFor(photoUrl))
        await writeAtomically(fileFor(photoUrl), jpeg)
        const after = await tx.student.update({ where: { id: studentId }, data: { photoUrl, photoVersion: version, version: { increment: 1 } } })
        await recordAudit(tx, ctx, { action: 'update_photo', entity: 'student', entityId: studentId, schoolId, before: { photoUrl: before.photoUrl }, after: { photoUrl } })
        if (before.photoUrl) replaced.push(fileFor(before.photoUrl))
        return after
      }))
      written.length = 0
      await Promise.all(replaced.map((file) => unlink(file).catch(() => {})))
      return result
    } finally {
      await Promise.all(written.map((file) => unlink(file).catch(() => {})))
    }
  }

  return {
    fileFor,
    transaction,

    /** Decodes and normalises an upload: a bad file is a 422 PHOTO_INVALID before anything changes. */
    normalise: async (upload: Buffer) => (await normaliseFacePhoto(upload)).jpeg,
  }
}

async function writeAtomically (file: string, data: Buffer) {
  await mkdir(path.dirname(file), { recursive: true })
  const tmp = `${file}.${randomUUID()}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, file)
}

export type StudentPhotosService = ReturnType<typeof createStudentPhotosService>
