import { z } from 'zod'
import { pageQuery } from '../../lib/schemas.js'

export const auditListQuery = pageQuery.extend({
  actorId: z.uuid().optional(),
  action: z.string().trim().min(1).max(64).optional(),
  entity: z.string().trim().min(1).max(64).optional(),
  entityId: z.string().trim().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Inclusive lower bound (ISO 8601 instant)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Exclusive upper bound (ISO 8601 instant)'),
})
export type AuditListQuery = z.infer<typeof auditListQuery>

export const auditEntrySchema = z.object({
  id: z.uuid(),
  schoolId: z.uuid().nullable(),
  actorId: z.uuid().nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  entity: z.string(),
  entityId: z.string().nullable(),
  changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })).nullable(),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.string(),
}).meta({ id: 'AuditEntry' })
