import { Counter, Histogram, type Registry } from 'prom-client'

export interface IsapiMetrics {
  observe(operation: string, outcome: string, durationSeconds: number): void
}

const DURATION = 'isapi_request_duration_seconds'
const TOTAL = 'isapi_requests_total'
const LABELS = ['operation', 'outcome'] as const

/**
 * Registers the ISAPI metrics on `registry` (idempotent per registry). `outcome` is `ok` or an
 * IsapiError code, so label cardinality stays bounded.
 */
export function registerIsapiMetrics (registry: Registry): IsapiMetrics {
  const histogram = (registry.getSingleMetric(DURATION) as Histogram<typeof LABELS[number]> | undefined) ??
    new Histogram({
      name: DURATION,
      help: 'Duration of ISAPI device calls, auth round trips included',
      labelNames: LABELS,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    })
  const counter = (registry.getSingleMetric(TOTAL) as Counter<typeof LABELS[number]> | undefined) ??
    new Counter({ name: TOTAL, help: 'ISAPI device calls by operation and outcome', labelNames: LABELS, registers: [registry] })
  return {
    observe (operation, outcome, durationSeconds) {
      histogram.observe({ operation, outcome }, durationSeconds)
      counter.inc({ operation, outcome })
    },
  }
}
