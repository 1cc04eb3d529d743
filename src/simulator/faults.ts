import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import type { FaultSpec } from './sim.types.js'

const count = z.number().int().min(0)

export const faultSpecSchema = z.strictObject({
  hang: z.union([z.boolean(), count]).optional(),
  busy: count.optional(),
  reset: count.optional(),
  latencyMs: count.optional(),
  latencyUserMs: count.optional(),
  latencyFaceMs: count.optional(),
})

export function parseFaultSpec (input: unknown): FaultSpec {
  const parsed = faultSpecSchema.safeParse(input)
  if (!parsed.success) throw new Error(`invalid fault spec: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`)
  return parsed.data
}

/**
 * Fault state of one terminal. Hang, busy and reset act on device requests
 * only (never on /_sim), inside the single request queue, so a hung terminal
 * also stalls everything queued behind it, as a frozen device would.
 */
export function createFaults (initial: FaultSpec = {}) {
  let spec: FaultSpec = {}
  let hungUntil: number | 'forever' | undefined
  const waiters = new Set<() => void>()
  let timer: NodeJS.Timeout | undefined

  function release () {
    if (timer) clearTimeout(timer)
    timer = undefined
    hungUntil = undefined
    delete spec.hang
    for (const wake of waiters) wake()
    waiters.clear()
  }

  function applyHang (hang: boolean | number | undefined) {
    if (hang === undefined) return
    release()
    if (hang === true) hungUntil = 'forever'
    else if (typeof hang === 'number' && hang > 0) {
      hungUntil = Date.now() + hang
      timer = setTimeout(release, hang)
      timer.unref()
    }
  }

  function set (next: FaultSpec) {
    const { hang, ...rest } = parseFaultSpec(next)
    spec = { ...spec, ...rest }
    applyHang(hang)
    if (hungUntil !== undefined) spec.hang = hang
  }

  function clear () {
    spec = {}
    release()
  }

  function take (key: 'busy' | 'reset') {
    const n = spec[key] ?? 0
    if (n <= 0) return false
    spec[key] = n - 1
    return true
  }

  /** Resolves when the hang ends; false when the client went away first. */
  async function waitWhileHung (signal: AbortSignal): Promise<boolean> {
    const hung = () => hungUntil !== undefined
    while (hung() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => { waiters.delete(wake); signal.removeEventListener('abort', wake); resolve() }
        waiters.add(wake)
        signal.addEventListener('abort', wake, { once: true })
      })
    }
    return !signal.aborted
  }

  /** Waits out the rest of the operation's latency, `spentMs` of which went on the simulator's own work. */
  async function applyLatency (path: string, signal: AbortSignal, spentMs = 0) {
    let ms = spec.latencyMs ?? 0
    if (path.startsWith('/ISAPI/AccessControl/UserInfo')) ms += spec.latencyUserMs ?? 0
    if (path.startsWith('/ISAPI/Intelligent/FDLib') || path.startsWith('/LOCALS/pic/enrlFace')) ms += spec.latencyFaceMs ?? 0
    if (ms - spentMs > 0) await sleep(ms - spentMs, undefined, { signal }).catch(() => undefined)
  }

  function snapshot () {
    return { ...spec, hung: hungUntil === undefined ? false : hungUntil === 'forever' ? true : new Date(hungUntil).toISOString() }
  }

  set(initial)
  return { set, clear, takeBusy: () => take('busy'), takeReset: () => take('reset'), waitWhileHung, applyLatency, snapshot, close: release }
}

export type Faults = ReturnType<typeof createFaults>
