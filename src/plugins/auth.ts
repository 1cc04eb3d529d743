import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Role } from '../generated/prisma/enums.js'
import { forbidden, notFound, unauthorized } from '../lib/errors.js'

export interface AuthUser { id: string, email: string, role: Role, schoolId: string | null, sessionId?: string }

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string, role: Role, schoolId: string | null, tv: number, sid: string, typ: 'access' | 'stream' }
    user: AuthUser
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** For EventSource streams, which cannot send headers: a bearer header, or `?token=` holding a stream token. */
    authenticateStream: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/**
 * Verifies the bearer access token, then re-reads the user so a deleted user
 * or a changed password (token version) locks the token out at once.
 */
export default fp(async (app) => {
  await app.register(fastifyJwt, {
    secret: app.config.JWT_SECRET,
    sign: { expiresIn: app.config.ACCESS_TOKEN_TTL_SECONDS },
  })

  type Claims = { sub: string, tv: number, sid: string, typ: string }
  const invalidToken = (err: unknown) => {
    const expired = (err as { code?: string }).code?.includes('EXPIRED') ?? false
    return unauthorized(expired ? 'Access token expired' : 'A valid bearer access token is required', expired ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED')
  }

  async function admit (request: FastifyRequest, payload: Claims, typ: 'access' | 'stream') {
    if (payload.typ !== typ) throw unauthorized('A valid bearer access token is required')
    const user = await app.prisma.user.findFirst({
      where: { id: payload.sub, deletedAt: null },
      select: {
        id: true, email: true, role: true, schoolId: true, tokenVersion: true,
        refreshTokens: { where: { familyId: payload.sid, revokedAt: null }, select: { id: true }, take: 1 },
      },
    })
    // A session lives as long as its refresh-token family: logout kills its access tokens too.
    if (!user || user.tokenVersion !== payload.tv || user.refreshTokens.length === 0) throw unauthorized('This session is no longer valid', 'SESSION_REVOKED')
    request.user = { id: user.id, email: user.email, role: user.role, schoolId: user.schoolId, sessionId: payload.sid }
  }

  async function authenticate (request: FastifyRequest) {
    let payload: Claims
    try {
      payload = await request.jwtVerify<Claims>()
    } catch (err) {
      throw invalidToken(err)
    }
    await admit(request, payload, 'access')
  }

  app.decorate('authenticate', authenticate)
  app.decorate('authenticateStream', async (request: FastifyRequest) => {
    const token = (request.query as { token?: unknown } | undefined)?.token
    if (typeof token !== 'string' || request.headers.authorization) return authenticate(request)
    let payload: Claims
    try {
      payload = app.jwt.verify<Claims>(token)
    } catch (err) {
      throw invalidToken(err)
    }
    await admit(request, payload, 'stream')
  })
}, { name: 'auth', dependencies: ['config', 'prisma'] })

/** SUPER_ADMIN passes every role check. */
export function hasRole (user: AuthUser, roles: readonly Role[]) {
  return user.role === 'SUPER_ADMIN' || roles.includes(user.role)
}

export function requireRole (...roles: Role[]): preHandlerAsyncHookHandler {
  return async (request) => {
    if (!hasRole(request.user, roles)) throw forbidden()
  }
}

/**
 * Guards routes under /schools/:schoolId. Another school's id answers 404,
 * exactly as a missing one does, so ids of other schools cannot be probed.
 */
export function requireSchoolAccess (...roles: Role[]): preHandlerAsyncHookHandler {
  return async function (request) {
    const { schoolId } = request.params as { schoolId: string }
    const user = request.user
    if (user.role !== 'SUPER_ADMIN' && user.schoolId !== schoolId) throw notFound('School')
    const school = await this.prisma.school.findFirst({ where: { id: schoolId, deletedAt: null }, select: { id: true } })
    if (!school) throw notFound('School')
    if (roles.length > 0 && !hasRole(user, roles)) throw forbidden()
  }
}
