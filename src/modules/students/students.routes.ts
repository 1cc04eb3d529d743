import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { AppError, notFound } from '../../lib/errors.js'
import { decodeBase64Image } from '../../lib/face-photo.js'
import { pageOf, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import type { StudentPhotosService } from './students.photos.js'
import { toStudentDto, type StudentsService } from './students.service.js'
import { createStudentBody, photoJsonBody, studentListQuery, studentParams, studentSchema, updateStudentBody } from './students.schemas.js'

export const studentsRoutes: FastifyPluginAsyncZod<{ students: StudentsService, photos: StudentPhotosService }> = async (app, { students, photos }) => {
  app.addHook('onRequest', app.authenticate)
  const tags = ['students']
  const canRead = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR', 'TEACHER')
  const canWrite = requireSchoolAccess('SCHOOL_ADMIN', 'OPERATOR')

  app.get('/schools/:schoolId/students', {
    preHandler: [canRead],
    schema: { tags, operationId: 'listStudents', params: schoolParams, querystring: studentListQuery, response: { 200: pageOf(studentSchema) } },
  }, async (request) => {
    const { items, total } = await students.list(actorContext(request), request.params.schoolId, request.query)
    return { items, total, page: request.query.page, pageSize: request.query.pageSize }
  })

  app.post('/schools/:schoolId/students', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'createStudent', params: schoolParams, body: createStudentBody, response: { 201: studentSchema } },
  }, async (request, reply) => {
    reply.status(201)
    return students.create(actorContext(request), request.params.schoolId, request.body)
  })

  app.get('/schools/:schoolId/students/:studentId', {
    preHandler: [canRead],
    schema: { tags, operationId: 'getStudent', params: studentParams, response: { 200: studentSchema } },
  }, async (request) => toStudentDto(await students.get(actorContext(request), request.params.schoolId, request.params.studentId)))

  app.patch('/schools/:schoolId/students/:studentId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'updateStudent', params: studentParams, body: updateStudentBody, response: { 200: studentSchema } },
  }, async (request) => students.update(actorContext(request), request.params.schoolId, request.params.studentId, request.body))

  app.delete('/schools/:schoolId/students/:studentId', {
    preHandler: [canWrite],
    schema: { tags, operationId: 'deleteStudent', summary: 'Soft-delete a student', params: studentParams, response: { 204: z.null() } },
  }, async (request, reply) => {
    await students.remove(actorContext(request), request.params.schoolId, request.params.studentId)
    return reply.status(204).send(null)
  })

  app.put('/schools/:schoolId/students/:studentId/photo', {
    preHandler: [canWrite],
    bodyLimit: Math.ceil(app.config.UPLOAD_MAX_BYTES * 1.4),
    schema: {
      tags, operationId: 'putStudentPhoto', params: studentParams,
      summary: 'Upload a face photo',
      description: 'Send multipart/form-data with one file part (any field name), or JSON `{ "imageBase64": "…" }`. ' +
        'The image is turned upright, converted to JPEG of at most 200 KB and stored; an undecodable file is a 422 PHOTO_INVALID and changes nothing.',
      // Fastify validates a body no parser produced (multipart, none at all) as null.
      body: photoJsonBody.nullish(),
      response: { 200: studentSchema },
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
    return photos.replace(actorContext(request), request.params.schoolId, request.params.studentId, upload)
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
