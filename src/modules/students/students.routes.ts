import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { AppError, notFound } from '../../lib/errors.js'
import { decodeBase64Image } from '../../lib/face-photo.js'
import { idempotent } from '../../lib/idempotency.js'
import { pageOf, paged, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { StudentPhotosService } from './students.photos.js'
import { toStudentDto, type StudentsService } from './students.service.js'
import {
  createStudentBody, photoJsonBody, photoQuery, saveQuery, savedStudentSchema, studentListQuery, studentParams, studentSchema, updateStudentBody,
  type SyncOptions,
} from './students.schemas.js'
import type { StudentSyncService } from './students.sync.js'

const SAVE_SYNC = 'With `wait=true` (body or query) the answer waits, at most SYNC_WAIT_SECONDS, and carries each device\'s result; ' +
  'the save stands even when devices fail (retry them with POST /jobs/{jobId}/retry). With `atomic=true` a failure on any device ' +
  'undoes the devices that took the change and the database change, and answers 502 SYNC_ATOMIC_FAILED with each device\'s result.'

/** Sync options from the body, with wait and atomic also accepted in the query. */
function syncOptions (body: SyncOptions, query: { wait?: boolean, atomic?: boolean }): SyncOptions {
  return { syncMode: body.syncMode, targetDeviceIds: body.targetDeviceIds, wait: body.wait ?? query.wait, atomic: body.atomic ?? query.atomic }
}

export const studentsRoutes: FastifyPluginAsyncZod<{ students: StudentsService, photos: StudentPhotosService, studentSync: StudentSyncService }> = async (app, { students, photos, studentSync }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['students']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')

  app.get('/schools/:schoolId/students', {
    preHandler: [canRead],
    schema: { tags, operationId: 'listStudents', params: schoolParams, querystring: studentListQuery, response: { 200: pageOf(studentSchema) } },
  }, async (request) => {
    return paged(request.query, await students.list(actorContext(request), request.params.schoolId, request.query))
  })

  app.post('/schools/:schoolId/students', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'createStudent', params: schoolParams, querystring: saveQuery, body: createStudentBody, response: { 201: savedStudentSchema },
      description: `Saves the student, then sends it to devices as a job (see syncMode). ${SAVE_SYNC} Accepts Idempotency-Key.`,
    },
  }, async (request, reply) => {
    const { syncMode, targetDeviceIds, wait, atomic, ...fields } = request.body
    const options = syncOptions({ syncMode, targetDeviceIds, wait, atomic }, request.query)
    const result = await idempotent(app.prisma, request, async () =>
      ({ statusCode: 201, body: await studentSync.create(actorContext(request), request.params.schoolId, fields, options) }))
    return reply.status(201).send(result.body)
  })

  app.get('/schools/:schoolId/students/:studentId', {
    preHandler: [canRead],
    schema: { tags, operationId: 'getStudent', params: studentParams, response: { 200: studentSchema } },
  }, async (request) => toStudentDto(await students.get(actorContext(request), request.params.schoolId, request.params.studentId)))

  app.patch('/schools/:schoolId/students/:studentId', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'updateStudent', params: studentParams, querystring: saveQuery, body: updateStudentBody, response: { 200: savedStudentSchema },
      description: `Saves the changes, then sends the student to devices as a job (see syncMode); deactivating removes it from every device. ${SAVE_SYNC}`,
    },
  }, async (request) => {
    const { syncMode, targetDeviceIds, wait, atomic, ...fields } = request.body
    const { schoolId, studentId } = request.params
    return studentSync.update(actorContext(request), schoolId, studentId, fields, syncOptions({ syncMode, targetDeviceIds, wait, atomic }, request.query))
  })

  app.delete('/schools/:schoolId/students/:studentId', {
    preHandler: [canWrite],
    schema: {
      tags, operationId: 'deleteStudent', summary: 'Soft-delete a student', params: studentParams, response: { 204: z.null() },
      description: 'Also starts a job (type remove) deleting the person from every device of the school.',
    },
  }, async (request, reply) => {
    await studentSync.remove(actorContext(request), request.params.schoolId, request.params.studentId)
    return reply.status(204).send(null)
  })

  app.put('/schools/:schoolId/students/:studentId/photo', {
    preHandler: [canWrite],
    bodyLimit: Math.ceil(app.config.UPLOAD_MAX_BYTES * 1.4),
    schema: {
      tags, operationId: 'putStudentPhoto', params: studentParams, querystring: photoQuery,
      summary: 'Upload a face photo',
      description: 'Send multipart/form-data with one file part (any field name), or JSON `{ "imageBase64": "…" }`. ' +
        'The image is turned upright, converted to JPEG of at most 200 KB and stored; an undecodable file is a 422 PHOTO_INVALID and changes nothing. ' +
        'Unless `syncMode=none`, the new face is sent (as a job) to every device the student is on.',
      // Fastify validates a body no parser produced (multipart, none at all) as null.
      body: photoJsonBody.nullish(),
      response: { 200: savedStudentSchema },
    },
  }, async (request) => {
    let upload: Buffer
    if (request.isMultipart()) {
      const file = await request.file()
      if (!file) throw new AppError(400, 'PHOTO_MISSING', 'The multipart body has no file part')
      upload = await file.toBuffer()
    } else if (request.body) {
      upload = decodeBase64Image(request.body.imageBase64)
    } else {
      throw new AppError(400, 'PHOTO_MISSING', 'Send the photo as multipart/form-data or as JSON { imageBase64 }')
    }
    return studentSync.putPhoto(actorContext(request), request.params.schoolId, request.params.studentId, upload, request.query)
  })

  app.get('/schools/:schoolId/students/:studentId/photo', {
    preHandler: [canRead],
    schema: { tags, operationId: 'getStudentPhoto', summary: 'The student\'s face photo (JPEG)', params: studentParams },
  }, async (request, reply) => {
    const student = await students.get(actorContext(request), request.params.schoolId, request.params.studentId)
    if (!student.photoUrl) throw notFound('Photo')
    const file = photos.fileFor(student.photoUrl)
    const info = await stat(file).catch(() => undefined)
    if (!info) throw notFound('Photo')
    return reply.header('content-type', 'image/jpeg').header('content-length', info.size).header('cache-control', 'private, no-cache').send(createReadStream(file))
  })
}
