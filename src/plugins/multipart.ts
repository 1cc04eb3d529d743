import fp from 'fastify-plugin'
import multipart from '@fastify/multipart'

export default fp(async (app) => {
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: app.config.UPLOAD_MAX_BYTES, files: 1, fields: 10, parts: 12, fieldSize: 64 * 1024 },
  })
}, { name: 'multipart', dependencies: ['config'] })
