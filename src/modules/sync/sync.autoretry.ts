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
 * Failed targets are retried later: a job that ended partial or failed runs again (as
 * POST /jobs/:id/retry does) the items that failed because their terminal could not be reached, timed
 * out, was busy or locked, once it has been over for baseSeconds × 2^retryCount. Only items of a
 * student that nothing touched since the job ended: a later save of that student, or a later job on
 * that student and terminal, has its own say, which an old item must not undo (a removal replayed
 * after a reactivation). Atomic saves (undone on purpose), their undo jobs and cancelled jobs are left
 * alone. Every server process sweeps; a retry claims the job's row as the sweep read it, so a job is
 * retried once per turn.
 */
export function createAutoRetry ({ db, jobs, log, settings }: { db: PrismaClient, jobs: JobsService, log: FastifyBaseLogger, settings: AutoRetrySettings }) {
  let timer: NodeJS.Timeout | undefined
  let sweeping: Promise<void> | undefined

  async function sweep () {
    const due = await db.$queryRawUnsafe<Array<{ id: string, retry_count: number, item_ids: string[] }>>(`
      SELECT j.id, j.retry_count, array_agg(i.id ORDER BY i.id)::text[] AS item_ids
      FROM sync_jobs j JOIN sync_job_items i ON i.job_id = j.id AND i.status = 'failed' AND i.error_code = ANY($1::text[])
      WHERE j.status IN ('partial', 'failed') AND j.cancelled_at IS NULL AND j.retry_count < $2
        AND j.finished_at <= now() - make_interval(secs => $3 * power(2, j.retry_count))
        AND j.finished_at > now() - make_interval(hours => $4)
        AND COALESCE(j.params->>'atomic', 'false') <> 'true' AND NOT j.params ? 'rollbackOf'
        AND i.student_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM students s WHERE s.id = i.student_id AND s.updated_at > j.finished_at)
        AND NOT EXISTS (SELECT 1 FROM person_devices pd WHERE pd.student_id = i.student_id AND pd.device_id = i.device_id AND pd.updated_at > j.finished_at)
      GROUP BY j.id, j.retry_count ORDER BY min(j.finished_at) LIMIT ${BATCH}`,
    PASSING_FAILURES, settings.maxRetries, settings.baseSeconds, FORGET_AFTER_HOURS)
    for (const { id, retry_count: retryCount, item_ids: itemIds } of due) {
      try {
        const job = await jobs.mustFind(id)
        // Retried (and perhaps ended again) since the sweep read it: its back-off starts over.
        if (job.retryCount !== retryCount) continue
        const retried = await jobs.retry(null, job, undefined, itemIds)
        log.info({ jobId: id, items: itemIds.length, retryCount: retried.retryCount }, 'sync: failed items retried automatically')
      } catch (err) {
        // A 409: another process or a person retried it first.
        if (!(err instanceof AppError && err.statusCode === 409)) log.warn({ err, jobId: id }, 'sync: automatic retry of a job failed')
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
