import type { FastifyInstance } from 'fastify'
import { startAbsenceSweep } from '../attendance/attendance.absence.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import type { DevicesService } from '../devices/devices.service.js'
import { createBackfill } from './webhook.backfill.js'
import { deviceFeedRoutes } from './webhook.devices.routes.js'
import { deviceEventHealth } from './webhook.health.js'
import { createEventProcessor } from './webhook.processor.js'
import { createEventPictures } from './webhook.pictures.js'
import { createPushSetup } from './webhook.push-setup.js'
import { webhookAdminRoutes, webhookIntakeRoutes } from './webhook.routes.js'
import { createWebhookSecrets } from './webhook.secrets.js'
import { createWebhookSelfTest } from './webhook.selftest.js'
import { selfPost } from './webhook.self-post.js'

const INBOX_POLL_MS = 1000
const PICTURE_PRUNE_MS = 3_600_000

declare module 'fastify' {
  interface FastifyInstance { eventProcessor: ReturnType<typeof createEventProcessor> }
}

/** Event intake: the terminals' webhook, its secrets, and the inbox processor (polling too, for rows left by other processes). */
export function createWebhookModule (app: FastifyInstance, deps: { connector: DeviceConnector, devices: DevicesService }) {
  const { config, prisma: db } = app
  const secrets = createWebhookSecrets(db)
  const locks = app.deviceLocks
  const pictures = createEventPictures({ db, dataDir: config.DATA_DIR, retentionDays: config.EVENT_PICTURE_RETENTION_DAYS })
  const backfill = createBackfill({
    db, connector: deps.connector, locks, log: app.log.child({ module: 'backfill' }), repeatScanSeconds: config.ATTENDANCE_REPEAT_SCAN_SECONDS,
    settings: { intervalMs: config.ATTENDANCE_BACKFILL_MINUTES * 60_000, gapDelayMs: 1000, gapMinIntervalMs: 60_000, concurrency: 3 },
  })
  const processor = createEventProcessor({
    db, log: app.log.child({ module: 'events' }), repeatScanSeconds: config.ATTENDANCE_REPEAT_SCAN_SECONDS, onGap: backfill.soon,
    ...(config.EVENT_PICTURES && { pictures }),
  })
  let timer: NodeJS.Timeout | undefined
  let pruneTimer: NodeJS.Timeout | undefined
  let stopSweep = () => {}
  const prunePictures = () => { pictures.prune().catch((err) => app.log.warn({ err }, 'event picture pruning failed')) }
  const kick = () => { processor.kick().catch(() => {}) }
  app.addHook('onReady', async () => {
    timer = setInterval(kick, INBOX_POLL_MS)
    stopSweep = startAbsenceSweep(db, app.log.child({ module: 'attendance' }), config.ATTENDANCE_ABSENT_SWEEP_SECONDS * 1000)
    backfill.start()
    pruneTimer = setInterval(prunePictures, PICTURE_PRUNE_MS).unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(timer)
    clearInterval(pruneTimer)
    stopSweep()
    await backfill.stop()
    await processor.kick()
  })
  app.decorate('eventProcessor', processor)
  return {
    pictures,
    async register (api: FastifyInstance) {
      await api.register(webhookAdminRoutes, { secrets, publicBaseUrl: config.PUBLIC_BASE_URL })
      await api.register(deviceFeedRoutes, {
        devices: deps.devices,
        backfill,
        pushSetup: createPushSetup({ db, connector: deps.connector, secrets, publicBaseUrl: config.PUBLIC_BASE_URL }),
        selfTest: createWebhookSelfTest({ db, secrets, processor, post: selfPost(app), repeatScanSeconds: config.ATTENDANCE_REPEAT_SCAN_SECONDS }),
        health: (device) => deviceEventHealth(db, device),
      })
    },
    async registerIntake (root: FastifyInstance) {
      await root.register(webhookIntakeRoutes, { db, secrets, kick, bodyLimit: config.WEBHOOK_MAX_BYTES, rawLimit: config.WEBHOOK_RAW_MAX_BYTES })
    },
  }
}
