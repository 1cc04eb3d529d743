import fp from 'fastify-plugin'

/** Echoes the request id on every response so clients can quote it. */
export default fp(async (app) => {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
}, { name: 'request-id' })
