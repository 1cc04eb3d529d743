import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { AuthUser } from '../plugins/auth.js'

/** Who is acting and from where: what services need of a request, without Fastify. */
export interface ActorContext {
  actor: AuthUser
  requestId: string
  ip: string
  log: FastifyBaseLogger
}

export const actorContext = (request: FastifyRequest): ActorContext => ({
  actor: request.user,
  requestId: request.id,
  ip: request.ip,
  log: request.log,
})
