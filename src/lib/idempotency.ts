import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyRequest } from 'fastify'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import { isUniqueConstraintError } from './db.js'
import { AppError, badRequest } from './errors.js'

const IN_PROGRESS = 0
const WAIT_FOR_TWIN_MS = 30_000

const stableJson = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`
  return JSON.stringify(v ?? null)
}

/**
 * Runs a POST at most once per `Idempotency-Key` (per user and route): the same key with the same
 * body answers what the first call answered; the same key with another body is a 422. A request
 * without the header just runs.
 */
export async function idempotent<T> (db: PrismaClient, request: FastifyRequest, run: () => Promise<{ statusCode: number, body: T }>) {
  const key = request.headers['idempotency-key']
  if (key === undefined) return run()
  if (typeof key !== 'string' || key.length < 1 || key.length > 200) throw badRequest('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 200 characters')
  const scope = `${request.user.id} ${request.method} ${request.routeOptions.url} ${stableJson(request.params)}`
  const requestHash = createHash('sha256').update(stableJson(request.body)).digest('hex')

  try {
    await db.idempotencyKey.create({ data: { scope, key, requestHash, statusCode: IN_PROGRESS, response: {} } })
  } catch (err) {
    if (!isUniqueConstraintError(err)) throw err
    return replay<T>(db, scope, key, requestHash)
  }
  try {
    const result = await run()
    await db.idempotencyKey.update({ where: { scope_key: { scope, key } }, data: { statusCode: result.statusCode, response: result.body as Prisma.InputJsonValue } })
    return result
  } catch (err) {
    await db.idempotencyKey.delete({ where: { scope_key: { scope, key } } }).catch(() => {})
    throw err
  }
}

async function replay<T> (db: PrismaClient, scope: string, key: string, requestHash: string) {
  const deadline = Date.now() + WAIT_FOR_TWIN_MS
  for (;;) {
    const row = await db.idempotencyKey.findUnique({ where: { scope_key: { scope, key } } })
    if (row && row.requestHash !== requestHash) {
      throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body')
    }
    if (row && row.statusCode !== IN_PROGRESS) return { statusCode: row.statusCode, body: row.response as T }
    if (!row || Date.now() > deadline) throw new AppError(409, 'IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; repeat it shortly')
    await sleep(100)
  }
}
