import type { DigestChallenge } from './isapi.digest.js'

/** Runs one task at a time per key, in arrival order; different keys run in parallel. */
export interface IsapiLimiter {
  run<T>(key: string, task: () => Promise<T>): Promise<T>
}

export function createKeyedSerialLimiter (): IsapiLimiter {
  const tails = new Map<string, Promise<void>>()
  return {
    run<T> (key: string, task: () => Promise<T>) {
      const previous = tails.get(key) ?? Promise.resolve()
      const result = previous.then(task)
      const settled = result.then(() => undefined, () => undefined)
      const tail: Promise<void> = settled.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      tails.set(key, tail)
      return result
    },
  }
}

export interface CachedChallenge {
  challenge: DigestChallenge
  /** Number of times this nonce was already sent (the next nc is uses + 1). */
  uses: number
  obtainedAt: number
}

/** What the process knows about one device: shared by every client for that host:port. */
export interface IsapiDeviceState {
  challenge?: CachedChallenge
  /** Account (username) → time the device said the lock ends. */
  lockedUntil: Map<string, number>
  /** Credential fingerprint → time a rejected login happened. */
  rejectedAt: Map<string, number>
  /** How many uses this device's nonces survive, learned from a nonce that died (firmware differs: 2 to 8+). */
  nonceUsesLearned?: number
}

export interface IsapiDeviceRegistry {
  limiter: IsapiLimiter
  state(deviceKey: string): IsapiDeviceState
}

export function createIsapiDeviceRegistry (limiter: IsapiLimiter = createKeyedSerialLimiter()): IsapiDeviceRegistry {
  const states = new Map<string, IsapiDeviceState>()
  return {
    limiter,
    state (deviceKey) {
      let s = states.get(deviceKey)
      if (!s) {
        s = { lockedUntil: new Map(), rejectedAt: new Map() }
        states.set(deviceKey, s)
      }
      return s
    },
  }
}

/**
 * The process-wide default: terminals are single-threaded, so every client instance for the
 * same host:port must queue behind the same limiter and share the same nonce/lock knowledge.
 */
export const sharedIsapiRegistry: IsapiDeviceRegistry = createIsapiDeviceRegistry()
