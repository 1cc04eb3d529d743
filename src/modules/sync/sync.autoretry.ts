import type { FastifyBaseLogger } from 'fastify'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { AppError } from '../../lib/errors.js'
import type { JobsService } from './sync.jobs.js'

/** Failures that pass by themselves. A wrong password does not: it waits for an admin (and costs a login). */
const PASSING_FAILURES = ['DEVICE_UNREACHABLE', 'DEVICE_TIMEOUT', 'DEVICE_BUSY', 'DEVICE_LOCKED']
// Jobs that ended longer ago than this are left to a person.
const FORGET_AFTER_HOURS = 24
const BATCH = 20

export interface AutoRetrySettings {
  /** The first retry this long after the job ended, doubling with each retry; 0 = off. */
  baseSeconds: number
  maxRetries: number
}

/**
 * Failed targets are retried later: a job that ended partial or failed because terminals could not be
 * reached, timed out, were busy or locked runs its failed items on those terminals again (as
 * POST /jobs/:id/retry does) once it has been over for baseSeconds × 2^retryCount. Atomic saves
 * (undone on purpose), their undo jobs and cancelled jobs are left alone. Every server process sweeps;
 * a job two processes pick at once is retried once (the retry claims the job's row).
 */
export function createAutoRetry ({ db, jobs, log, settings }: { db: PrismaClient, jobs: JobsService, log: FastifyBaseLogger, settings: AutoRetrySettings }) {
  let timer: NodeJS.Timeout | undefined
  let sweeping: Promise<void> | undefined

  async function sweep () {
    const due = await db.$queryRawUnsafe<Array<{ id: string, device_ids: string[] }>>(`
      SELECT j.id, array_agg(DISTINCT i.device_id)::text[] AS device_ids
      FROM sync_jobs j JOIN sync_job_items i ON i.job_id = j.id AND i.status = 'failed' AND i.error_code = ANY($1::text[])
      WHERE j.status IN ('partial', 'failed') AND j.cancelled_at IS NULL AND j.retry_count < $2
        AND j.finished_at <= now() - make_interval(secs => $3 * power(2, j.retry_count))
        AND j.finished_at > now() - make_interval(hours => $4)
        AND COALESCE(j.params->>'atomic', 'false') <> 'true' AND NOT j.params ? 'rollbackOf'
      GROUP BY j.id ORDER BY min(j.finished_at) LIMIT ${BATCH}`,
    PASSING_FAILURES, settings.maxRetries, settings.baseSeconds, FORGET_AFTER_HOURS)
    for (const { id, device_ids: deviceIds } of due) {
      try {
        const job = await jobs.retry(null, await jobs.mustFind(id), deviceIds)
        log.info({ jobId: id, deviceIds, retryCount: job.retryCount }, 'sync: failed items retried automatically')
      } catch (err) {
        // Another process or a person retried it first.
        if (!(err instanceof AppError && err.statusCode === 409)) throw err
      }
    }
  }

  return {
    start () {
      if (settings.baseSeconds === 0 || settings.maxRetries === 0) return
      const everyMs = Math.min(60_000, Math.max(500, settings.baseSeconds * 500))
      timer = setInterval(() => {
        sweeping ??= sweep()
          .catch((err) => log.warn({ err }, 'sync: automatic retry sweep failed'))
          .finally(() => { sweeping = undefined })
      }, everyMs)
      timer.unref()
    },
    async stop () {
      clearInterval(timer)
      await sweeping
    },
  }
}
