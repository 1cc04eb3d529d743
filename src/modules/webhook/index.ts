import type { FastifyInstance } from 'fastify'
import { startAbsenceSweep } from '../attendance/attendance.absence.js'
import { createEventProcessor } from './webhook.processor.js'
import { webhookAdminRoutes, webhookIntakeRoutes } from './webhook.routes.js'
import { createWebhookSecrets } from './webhook.secrets.js'

const INBOX_POLL_MS = 1000

declare module 'fastify' {
  interface FastifyInstance { eventProcessor: ReturnType<typeof createEventProcessor> }
}

/** Event intake: the terminals' webhook, its secrets, and the inbox processor (polling too, for rows left by other processes). */
export function createWebhookModule (app: FastifyInstance) {
  const { config, prisma: db } = app
  const secrets = createWebhookSecrets(db)
  const processor = createEventProcessor({ db, log: app.log.child({ module: 'events' }), repeatScanSeconds: config.ATTENDANCE_REPEAT_SCAN_SECONDS })
  let timer: NodeJS.Timeout | undefined
  let stopSweep = () => {}
  const kick = () => { processor.kick().catch(() => {}) }
  app.addHook('onReady', async () => {
    timer = setInterval(kick, INBOX_POLL_MS)
    stopSweep = startAbsenceSweep(db, app.log.child({ module: 'attendance' }), config.ATTENDANCE_ABSENT_SWEEP_SECONDS * 1000)
  })
  app.addHook('onClose', async () => {
    clearInterval(timer)
    stopSweep()
    await processor.kick()
  })
  app.decorate('eventProcessor', processor)
  return {
    secrets,
    processor,
    async register (api: FastifyInstance) {
      await api.register(webhookAdminRoutes, { secrets, publicBaseUrl: config.PUBLIC_BASE_URL })
    },
    async registerIntake (root: FastifyInstance) {
      await root.register(webhookIntakeRoutes, { db, secrets, kick, bodyLimit: config.WEBHOOK_MAX_BYTES, rawLimit: config.WEBHOOK_RAW_MAX_BYTES })
    },
  }
}
