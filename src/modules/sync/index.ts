import path from 'node:path'
import pg from 'pg'
import type { FastifyInstance } from 'fastify'
import type { PrismaClient } from '../../generated/prisma/client.js'
import type { DeviceConnector } from '../devices/device-connector.js'
import type { DevicesService } from '../devices/devices.service.js'
import type { MediaSigner } from '../media/media.signing.js'
import { jobsRoutes } from './jobs.routes.js'
import { createDriftService } from './sync.drift.js'
import { createJobsService } from './sync.jobs.js'
import { createAutoRetry } from './sync.autoretry.js'
import { createSyncQueue } from './sync.queue.js'
import { DEFAULT_SYNC_SETTINGS, createSyncRunner } from './sync.runner.js'
import { syncRoutes } from './sync.routes.js'

/** Builds the sync engine (queue, runner, device locks) and ties its life to the app's. */
export function createSyncModule (app: FastifyInstance, deps: { db: PrismaClient, devices: DevicesService, connector: DeviceConnector, signer: MediaSigner }) {
  const { config } = app
  const locks = app.deviceLocks
  // Item results commit without waiting for the disk: losing the last few to a Postgres crash only
  // repeats those items, which is harmless, and each device's next item no longer waits on a WAL flush.
  const results = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.SYNC_CONCURRENCY + 1, options: '-c synchronous_commit=off' })
  results.on('error', (err) => app.log.warn({ err }, 'sync results pool error'))
  const runner = createSyncRunner({
    db: deps.db, sql: (name, text, values) => results.query({ name, text, values }), connector: deps.connector, locks, signer: deps.signer,
    uploadsDir: path.join(config.DATA_DIR, 'uploads'),
    settings: {
      ...DEFAULT_SYNC_SETTINGS,
      pacingMs: config.SYNC_PACING_MS,
      sliceMs: config.SYNC_SLICE_SECONDS * 1000,
      faceMode: config.FACE_UPLOAD_MODE,
      faceUrlTtlSeconds: config.PHOTO_URL_TTL_SECONDS,
      transientBackoffMs: config.SYNC_TRANSIENT_BACKOFF_MS,
    },
    log: app.log.child({ module: 'sync' }),
  })
  const queue = createSyncQueue({
    databaseUrl: config.DATABASE_URL,
    concurrency: config.SYNC_WORKERS_ENABLED ? config.SYNC_CONCURRENCY : 0,
    expireSeconds: config.SYNC_TASK_EXPIRE_SECONDS,
    maintenanceSeconds: config.SYNC_MAINTENANCE_SECONDS,
    pollSeconds: config.SYNC_POLL_SECONDS,
    runner,
    log: app.log.child({ module: 'jobs' }),
  })
  const jobs = createJobsService({ db: deps.db, queue })
  const drift = createDriftService({ db: deps.db, devices: deps.devices, connector: deps.connector, jobs })
  const autoRetry = createAutoRetry({
    db: deps.db, jobs, log: app.log.child({ module: 'sync' }),
    settings: { baseSeconds: config.SYNC_WORKERS_ENABLED ? config.SYNC_AUTO_RETRY_SECONDS : 0, maxRetries: config.SYNC_AUTO_RETRY_MAX },
  })
  app.addHook('onReady', async () => {
    await queue.start()
    autoRetry.start()
  })
  app.addHook('onClose', async () => {
    await autoRetry.stop()
    await queue.stop()
    await results.end()
  })

  return {
    jobs,
    drift,
    async register (api: FastifyInstance) {
      await api.register(syncRoutes, { jobs, drift, devices: deps.devices })
      await api.register(jobsRoutes, { jobs })
    },
  }
}
