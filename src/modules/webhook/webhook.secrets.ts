import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { PrismaClient } from '../../generated/prisma/client.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction } from '../../lib/db.js'
import { recordAudit } from '../audit/audit.repository.js'

export type WebhookDirection = 'in' | 'out'
const DIRECTIONS: WebhookDirection[] = ['in', 'out']
const CACHE_MS = 5_000

const newSecret = () => randomBytes(24).toString('base64url')

function sameSecret (given: string, expected: string) {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Per school and direction: the current secret, plus rotated ones until their grace period ends. */
export function createWebhookSecrets (db: PrismaClient) {
  const cache = new Map<string, { at: number, secrets: Array<{ secret: string, expiresAt: Date | null }> }>()

  async function ensure (schoolId: string) {
    const existing = await db.webhookSecret.findMany({ where: { schoolId, expiresAt: null } })
    for (const direction of DIRECTIONS) {
      if (!existing.some((s) => s.direction === direction)) await db.webhookSecret.create({ data: { schoolId, direction, secret: newSecret() } })
    }
  }

  async function valid (schoolId: string, direction: WebhookDirection) {
    const key = `${schoolId}:${direction}`
    const hit = cache.get(key)
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.secrets
    const rows = await db.webhookSecret.findMany({ where: { schoolId, direction }, select: { secret: true, expiresAt: true } })
    cache.set(key, { at: Date.now(), secrets: rows })
    return rows
  }

  return {
    /** Constant-time check against every secret still valid for this school and direction. */
    async verify (schoolId: string, direction: WebhookDirection, given: string | undefined) {
      if (!given) return false
      const now = Date.now()
      let ok = false
      for (const s of await valid(schoolId, direction)) {
        if (s.expiresAt && s.expiresAt.getTime() <= now) continue
        if (sameSecret(given, s.secret)) ok = true
      }
      return ok
    },

    async current (schoolId: string) {
      await ensure(schoolId)
      const rows = await db.webhookSecret.findMany({ where: { schoolId }, orderBy: { createdAt: 'desc' } })
      const now = Date.now()
      return DIRECTIONS.map((direction) => ({
        direction,
        secret: rows.find((r) => r.direction === direction && r.expiresAt === null)?.secret as string,
        previousValidUntil: rows.filter((r) => r.direction === direction && r.expiresAt && r.expiresAt.getTime() > now)
          .map((r) => r.expiresAt as Date).sort((a, b) => b.getTime() - a.getTime())[0]?.toISOString() ?? null,
      }))
    },

    /** New secrets; the old ones keep working for `graceMinutes` so terminals can be re-pointed. */
    async rotate (ctx: ActorContext, schoolId: string, directions: WebhookDirection[], graceMinutes: number) {
      await ensure(schoolId)
      await withTransaction(db, async (tx) => {
        const expiresAt = new Date(Date.now() + graceMinutes * 60_000)
        for (const direction of directions) {
          await tx.webhookSecret.updateMany({ where: { schoolId, direction, expiresAt: null }, data: { expiresAt } })
          await tx.webhookSecret.create({ data: { schoolId, direction, secret: newSecret() } })
        }
        await recordAudit(tx, ctx, { action: 'rotate_webhook_secret', entity: 'school', entityId: schoolId, schoolId, after: { directions, graceMinutes, secret: 'rotated' } })
      })
      for (const d of directions) cache.delete(`${schoolId}:${d}`)
    },
  }
}

export type WebhookSecrets = ReturnType<typeof createWebhookSecrets>
