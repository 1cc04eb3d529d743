import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError, notFound } from '../../lib/errors.js'
import type { MediaSigner } from './media.signing.js'

const photoFile = z.string().regex(/^[0-9a-f-]{36}-\d+\.jpg$/, 'is not a photo file name')

export const mediaRoutes: FastifyPluginAsyncZod<{ signer: MediaSigner, uploadsDir: string }> = async (app, { signer, uploadsDir }) => {
  app.get('/uploads/student-faces/:file', {
    schema: {
      tags: ['media'], operationId: 'getSignedStudentFace', security: [],
      summary: 'A face photo by signed URL (for terminals)',
      params: z.object({ file: photoFile }),
      querystring: z.object({ expires: z.coerce.number().int().positive(), sig: z.string().min(10).max(100) }),
    },
  }, async (request, reply) => {
    const urlPath = `/uploads/student-faces/${request.params.file}`
    const verdict = signer.verify(urlPath, request.query.expires, request.query.sig)
    if (verdict === 'invalid') throw new AppError(403, 'MEDIA_LINK_INVALID', 'This photo link is not valid')
    if (verdict === 'expired') throw new AppError(403, 'MEDIA_LINK_EXPIRED', 'This photo link has expired')
    const filePath = path.join(uploadsDir, 'student-faces', request.params.file)
    const info = await stat(filePath).catch(() => undefined)
    if (!info) throw notFound('Photo')
    return reply
      .header('content-type', 'image/jpeg')
      .header('content-length', info.size)
      .header('cache-control', 'private, max-age=60')
      .send(createReadStream(filePath))
  })
}
