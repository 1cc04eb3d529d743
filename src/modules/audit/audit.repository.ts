import type { Prisma } from '../../generated/prisma/client.js'
import type { DbClient } from '../../lib/db.js'
import type { ActorContext } from '../../lib/context.js'
import type { AuditListQuery } from './audit.schemas.js'

export type AuditAction = 'create' | 'update' | 'delete' | string

export interface AuditEntry {
  action: AuditAction
  entity: string
  entityId: string
  schoolId: string | null
  before?: Record<string, unknown> | null
  after?: Record<string, unknown> | null
}

const REDACTED_KEYS = /password|secret|token|hash/i

function normalise (value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  return value
}

/**
 * The changed fields only, as { field: { before, after } }; secrets are
 * never written, only noted as changed.
 */
export function diffFields (before: Record<string, unknown> | null | undefined, after: Record<string, unknown> | null | undefined) {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])
  const changes: Record<string, { before: unknown, after: unknown }> = {}
  for (const key of keys) {
    if (['updatedAt', 'createdAt'].includes(key)) continue
    const b = normalise(before?.[key])
    const a = normalise(after?.[key])
    if (JSON.stringify(b) === JSON.stringify(a)) continue
    changes[key] = REDACTED_KEYS.test(key) ? { before: '[redacted]', after: '[redacted]' } : { before: b ?? null, after: a ?? null }
  }
  return changes
}

const auditRow = (ctx: Pick<ActorContext, 'actor' | 'requestId' | 'ip'>, entry: AuditEntry) => ({
  schoolId: entry.schoolId,
  actorId: ctx.actor.id,
  actorEmail: ctx.actor.email,
  action: entry.action,
  entity: entry.entity,
  entityId: entry.entityId,
  changes: diffFields(entry.before, entry.after) as Prisma.InputJsonValue,
  requestId: ctx.requestId,
  ip: ctx.ip,
})

export async function recordAudit (db: DbClient, ctx: Pick<ActorContext, 'actor' | 'requestId' | 'ip'>, entry: AuditEntry) {
  await db.auditLog.create({ data: auditRow(ctx, entry) })
}

/** Many entries by one actor in one statement. */
export async function recordAudits (db: DbClient, ctx: Pick<ActorContext, 'actor' | 'requestId' | 'ip'>, entries: AuditEntry[]) {
  await db.auditLog.createMany({ data: entries.map((entry) => auditRow(ctx, entry)) })
}

export function createAuditRepository (db: DbClient) {
  return {
    async list (schoolId: string, q: AuditListQuery) {
      const where: Prisma.AuditLogWhereInput = {
        schoolId,
        ...(q.actorId && { actorId: q.actorId }),
        ...(q.action && { action: q.action }),
        ...(q.entity && { entity: q.entity }),
        ...(q.entityId && { entityId: q.entityId }),
        ...((q.from ?? q.to) && { createdAt: { ...(q.from && { gte: new Date(q.from) }), ...(q.to && { lt: new Date(q.to) }) } }),
      }
      const [items, total] = await Promise.all([
        db.auditLog.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
        db.auditLog.count({ where }),
      ])
      return { items, total }
    },
  }
}
