import { setTimeout as sleep } from 'node:timers/promises'
import PgBoss from 'pg-boss'
import type { FastifyBaseLogger } from 'fastify'
import type { SyncRunner } from './sync.runner.js'

const QUEUE = 'device-share'
const DEADLOCK_DETECTED = '40P01'

export interface SyncQueueSettings {
  databaseUrl: string
  /** Device shares run at once in this process (each on its own terminal). */
  concurrency: number
  /** A share whose worker died (kill -9) is run again after this long. */
  expireSeconds: number
  maintenanceSeconds: number
  pollSeconds: number
}

interface ShareJob { jobId: string, deviceId: string }

/**
 * Device shares as pg-boss jobs: durable in Postgres, picked up by any process, retried after a
 * crash once they expire. A share runs a time slice and re-queues itself, so expiry stays short.
 */
export function createSyncQueue (o: SyncQueueSettings & { runner: SyncRunner, log: FastifyBaseLogger }) {
  const boss = new PgBoss({
    connectionString: o.databaseUrl,
    schema: 'pgboss',
    max: Math.min(4, o.concurrency + 1),
    maintenanceIntervalSeconds: o.maintenanceSeconds,
    monitorStateIntervalSeconds: Math.max(o.maintenanceSeconds, 1),
  })
  boss.on('error', (err) => o.log.error({ err }, 'job queue error'))
  let started = false
  const workerIds: string[] = []
  const shareOptions = { expireInSeconds: o.expireSeconds, retryLimit: 1000, retryDelay: 1 }

  // This process's idle workers look now instead of at their next poll (other processes still poll).
  const wakeWorkers = () => { for (const id of workerIds) boss.notifyWorker(id) }

  async function enqueue (share: ShareJob, startAfterSeconds = 0) {
    await boss.send(QUEUE, share, { startAfter: startAfterSeconds, ...shareOptions })
    if (startAfterSeconds === 0) wakeWorkers()
  }

  /** All shares of a job in one insert, so that every device starts at about the same time. */
  async function enqueueAll (shares: ShareJob[]) {
    if (shares.length === 0) return
    await boss.insert(shares.map((data) => ({ name: QUEUE, data, ...shareOptions })))
    wakeWorkers()
  }

  async function handle ([job]: PgBoss.Job<ShareJob>[]) {
    const { jobId, deviceId } = job.data
    const outcome = await o.runner.runShare(jobId, deviceId)
    if (outcome === 'continue') await enqueue(job.data)
    else if (outcome === 'locked') await enqueue(job.data, 1)
  }

  // Two processes starting on a fresh database can deadlock inside pg-boss's create_queue (it creates
  // the queue's partition): the loser tries again, and finds the queue there.
  async function createQueueOnce () {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE, { name: QUEUE, policy: 'standard' })
        return
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt === 5) throw err
        o.log.warn({ attempt }, 'job queue: creating the queue met another process; trying again')
        await sleep(50 * attempt)
      }
    }
  }

  return {
    async start () {
      await boss.start()
      await createQueueOnce()
      for (let i = 0; i < o.concurrency; i++) workerIds.push(await boss.work<ShareJob>(QUEUE, { batchSize: 1, pollingIntervalSeconds: o.pollSeconds }, handle))
      started = true
    },
    enqueue: (jobId: string, deviceIds: string[]) => enqueueAll(deviceIds.map((deviceId) => ({ jobId, deviceId }))),
    async stop () {
      if (started) await boss.stop({ graceful: true, timeout: 10_000, wait: true })
    },
  }
}

export type SyncQueue = ReturnType<typeof createSyncQueue>
