import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { actorContext } from '../../lib/context.js'
import { AppError } from '../../lib/errors.js'
import type { AuthService } from './auth.service.js'
import { changePasswordBody, loginBody, logoutBody, meSchema, refreshBody, tokenPairSchema } from './auth.schemas.js'

const tooManyAttempts = () => new AppError(429, 'RATE_LIMITED', 'Too many login attempts; try again later')

const STREAM_TOKEN_SECONDS = 60

export const authRoutes: FastifyPluginAsyncZod<{ auth: AuthService }> = async (app, { auth }) => {
  const tags = ['auth']
  const { LOGIN_MAX_PER_IP_PER_MINUTE, LOGIN_MAX_PER_EMAIL_PER_15_MINUTES } = app.config

  // app.rateLimit() would be skipped here: the route's own (per-IP) limit has already
  // marked the request as rate-limited, so the per-email count is checked by hand.
  const countPerEmail = app.createRateLimit({
    max: LOGIN_MAX_PER_EMAIL_PER_15_MINUTES,
    timeWindow: 15 * 60_000,
    keyGenerator: (request) => `login-email:${(request.body as { email: string }).email}`,
  })
  const limitPerEmail = async (request: FastifyRequest, reply: FastifyReply) => {
    const limit = await countPerEmail(request)
    if (limit.isAllowed || !limit.isExceeded) return
    reply.header('retry-after', limit.ttlInSeconds)
    throw tooManyAttempts()
  }

  app.post('/auth/login', {
    config: { rateLimit: { max: LOGIN_MAX_PER_IP_PER_MINUTE, timeWindow: 60_000, errorResponseBuilder: tooManyAttempts } },
    preHandler: [limitPerEmail],
    schema: { tags, operationId: 'login', security: [], body: loginBody, response: { 200: tokenPairSchema } },
  }, async (request) => auth.login(request.body.email, request.body.password))

  app.post('/auth/refresh', {
    config: { rateLimit: { max: LOGIN_MAX_PER_IP_PER_MINUTE * 3, timeWindow: 60_000, errorResponseBuilder: tooManyAttempts } },
    schema: { tags, operationId: 'refreshToken', summary: 'Rotate a refresh token', security: [], body: refreshBody, response: { 200: tokenPairSchema } },
  }, async (request) => auth.refresh(request.body.refreshToken))

  app.post('/auth/logout', {
    onRequest: [app.authenticate],
    schema: { tags, operationId: 'logout', summary: 'Revoke this session (and the given refresh token\'s)', body: logoutBody, response: { 204: z.null() } },
  }, async (request, reply) => {
    await auth.logout(request.user.id, request.user.sessionId, request.body.refreshToken)
    return reply.status(204).send(null)
  })

  app.post('/auth/stream-token', {
    onRequest: [app.authenticate],
    schema: {
      tags, operationId: 'streamToken', summary: 'A 60-second token for EventSource streams (`?token=`), which cannot send headers',
      response: { 200: z.object({ token: z.string(), expiresIn: z.number().int() }) },
    },
  }, async (request) => {
    const user = await app.prisma.user.findUniqueOrThrow({ where: { id: request.user.id }, select: { tokenVersion: true } })
    const { id, role, schoolId, sessionId } = request.user
    const token = app.jwt.sign({ sub: id, role, schoolId, tv: user.tokenVersion, sid: sessionId ?? '', typ: 'stream' }, { expiresIn: `${STREAM_TOKEN_SECONDS}s` })
    return { token, expiresIn: STREAM_TOKEN_SECONDS }
  })

  app.get('/auth/me', {
    onRequest: [app.authenticate],
    schema: { tags, operationId: 'me', response: { 200: meSchema } },
  }, async (request) => auth.me(request.user.id))

  app.post('/auth/change-password', {
    onRequest: [app.authenticate],
    schema: { tags, operationId: 'changePassword', summary: 'Change the password; other sessions are revoked', body: changePasswordBody, response: { 200: tokenPairSchema } },
  }, async (request) => auth.changePassword(actorContext(request), request.body.currentPassword, request.body.newPassword))
}
