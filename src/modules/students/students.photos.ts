import { randomUUID } from 'node:crypto'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction } from '../../lib/db.js'
import { notFound } from '../../lib/errors.js'
import { normaliseFacePhoto } from '../../lib/face-photo.js'
import { recordAudit } from '../audit/audit.repository.js'
import { createStudentsRepository } from './students.repository.js'
import { toStudentDto, type StudentsService } from './students.service.js'

export const photoUrlFor = (studentId: string, version: number) => `/uploads/student-faces/${studentId}-${version}.jpg`

/** Photos live on disk under uploadsDir; the database keeps only their URL. */
export function createStudentPhotosService ({ db, uploadsDir, students }: { db: PrismaClient, uploadsDir: string, students: StudentsService }) {
  const fileFor = (photoUrl: string) => path.join(uploadsDir, photoUrl.replace(/^\/uploads\//, ''))

  return {
    fileFor,

    /** Decodes and normalises first, so a bad file changes nothing about the student. */
    async replace (ctx: ActorContext, schoolId: string, studentId: string, upload: Buffer) {
      await students.mustFind(schoolId, studentId)
      const { jpeg } = await normaliseFacePhoto(upload)
      let written: string | undefined
      try {
        const { student, previousUrl } = await withTransaction(db, async (tx) => {
          // Concurrent uploads for one student queue here, so each gets its own version.
          await createStudentsRepository(tx).lockRow(studentId)
          const before = await tx.student.findFirst({ where: { id: studentId, schoolId, deletedAt: null } })
          if (!before) throw notFound('Student')
          const version = before.photoVersion + 1
          const photoUrl = photoUrlFor(studentId, version)
          written = fileFor(photoUrl)
          await writeAtomically(written, jpeg)
          const after = await tx.student.update({
            where: { id: studentId },
            data: { photoUrl, photoVersion: version, version: { increment: 1 } },
          })
          await recordAudit(tx, ctx, { action: 'update_photo', entity: 'student', entityId: studentId, schoolId, before: { photoUrl: before.photoUrl }, after: { photoUrl } })
          return { student: after, previousUrl: before.photoUrl }
        })
        written = undefined
        if (previousUrl) await unlink(fileFor(previousUrl)).catch(() => {})
        return toStudentDto(student)
      } finally {
        if (written) await unlink(written).catch(() => {})
      }
    },
  }
}

async function writeAtomically (file: string, data: Buffer) {
  await mkdir(path.dirname(file), { recursive: true })
  const tmp = `${file}.${randomUUID()}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, file)
}

export type StudentPhotosService = ReturnType<typeof createStudentPhotosService>
