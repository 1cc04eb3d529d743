import { setTimeout as sleep } from 'node:timers/promises'
import type { TestApp } from './build-test-app.js'

const FINISHED = ['succeeded', 'partial', 'failed', 'cancelled']

/** Polls GET /jobs/:id until the job has ended (or `timeoutMs` passes) and returns its detail. */
export async function waitForJob (app: TestApp, headers: Record<string, string>, jobId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}`, headers })
    if (res.statusCode !== 200) throw new Error(`GET job ${jobId}: ${res.statusCode} ${res.body}`)
    const job = res.json()
    if (FINISHED.includes(job.status)) return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms: ${res.body}`)
    await sleep(50)
  }
}
