import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { pageOf, schoolParams } from '../../lib/schemas.js'
import { requireSchoolAccess } from '../../plugins/auth.js'
import { createAuditRepository } from './audit.repository.js'
import { auditEntrySchema, auditListQuery } from './audit.schemas.js'

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const repo = createAuditRepository(app.prisma)
  app.get('/schools/:schoolId/audit', {
    onRequest: [app.authenticate],
    preHandler: [requireSchoolAccess('SCHOOL_ADMIN')],
    schema: {
      tags: ['audit'], operationId: 'listAudit', summary: 'Audit trail of a school',
      params: schoolParams, querystring: auditListQuery, response: { 200: pageOf(auditEntrySchema) },
    },
  }, async (request) => {
    const { items, total } = await repo.list(request.params.schoolId, request.query)
    return {
      items: items.map((a) => ({ ...a, changes: a.changes as Record<string, { before: unknown, after: unknown }> | null, createdAt: a.createdAt.toISOString() })),
      page: request.query.page,
      pageSize: request.query.pageSize,
      total,
    }
  })
}
