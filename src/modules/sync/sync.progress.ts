import type { FastifyBaseLogger } from 'fastify'
import { addCountsAndCheckCancel, addDeltas, emptyDelta, type ItemResult, type SqlRunner } from './sync.repository.js'

// A share's counters reach the job row this often, and the share learns of a cancel then:
// it stops soon without a query per person.
const COUNT_FLUSH_MS = 250

/**
 * The progress counters of one running share. They go to the job row in the background while the
 * next person is sent; counters a failed write did not add are kept for the next one.
 */
export function createShareProgress (sql: SqlRunner, jobId: string, log: FastifyBaseLogger) {
  let counts = emptyDelta()
  let flushedAt = 0
  let flushing: Promise<void> | undefined
  let cancelled = false

  const flush = async () => {
    const pending = counts
    counts = emptyDelta()
    flushedAt = Date.now()
    try {
      if (await addCountsAndCheckCancel(sql, jobId, pending)) cancelled = true
    } catch (err) {
      counts = addDeltas(counts, pending)
      throw err
    }
  }

  return {
    add (status: ItemResult['status'], errorMessage: string | null | undefined) {
      counts.done++
      counts[status]++
      if (status === 'failed') counts.lastError = errorMessage ?? null
    },
    /** Sends the counters when they are due (without waiting) and says whether the job was cancelled. */
    checkpoint () {
      if (!cancelled && !flushing && Date.now() - flushedAt >= COUNT_FLUSH_MS) {
        flushing = flush()
          .catch((err) => log.warn({ err, jobId }, 'sync: progress counters not updated yet'))
          .finally(() => { flushing = undefined })
      }
      return cancelled
    },
    /** Everything counted so far, on the job row now. */
    async flushNow () {
      await flushing
      await flush()
    },
    /** What is still unsent (a slice that ended early, a write that failed), best effort: a closed job was recounted. */
    async settle () {
      await flushing
      if (counts.done > 0) await flush().catch((err) => log.warn({ err, jobId }, 'sync: progress counters not updated (the job is recounted when it ends)'))
    },
  }
}
