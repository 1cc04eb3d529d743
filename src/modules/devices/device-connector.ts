import type { FastifyBaseLogger } from 'fastify'
import type { Dispatcher } from 'undici'
import type { Device, Prisma, PrismaClient } from '../../generated/prisma/client.js'
import {
  createIsapiClient, type IsapiClient, type IsapiDeviceRegistry, type IsapiErrorCode, type IsapiMetrics, type IsapiOutcome, type IsapiTimeouts,
} from '../../integrations/isapi/index.js'
import type { CredentialsCipher } from '../../lib/credentials-cipher.js'
import type { DeviceLocks } from '../../lib/device-locks.js'
import { unprocessable } from '../../lib/errors.js'

/** Errors that mean the terminal could not be talked to; anything else it answered, so it is alive. */
const DEVICE_DOWN: readonly IsapiErrorCode[] = ['DEVICE_AUTH_FAILED', 'DEVICE_LOCKED', 'DEVICE_UNREACHABLE', 'DEVICE_TIMEOUT']
// How long the lock-out lasts when the terminal does not say (Hikvision default).
const DEFAULT_LOCK_MS = 30 * 60_000
// A healthy device's row is refreshed at most this often; a change of health is written at once.
const HEALTHY_WRITE_INTERVAL_MS = 30_000

export interface DeviceConnectorDeps {
  db: PrismaClient
  cipher: CredentialsCipher
  isapi: { dispatcher: Dispatcher, insecureDispatcher: Dispatcher, registry: IsapiDeviceRegistry }
  metrics?: IsapiMetrics
  log: FastifyBaseLogger
  locks: DeviceLocks
  timeouts?: Partial<IsapiTimeouts>
  now?: () => number
}

export function healthUpdate (outcome: IsapiOutcome, now: Date): Prisma.DeviceUpdateManyMutationInput | null {
  const err = outcome.error
  if (err?.local) return null
  if (!err || !DEVICE_DOWN.includes(err.code)) return { lastCallAt: now, lastSeenAt: now, lastErrorCode: null, lastErrorMessage: null, lockedUntil: null }
  return {
    lastCallAt: now,
    lastErrorCode: err.code,
    lastErrorMessage: err.message.slice(0, 500),
    ...(err.code === 'DEVICE_LOCKED' && { lockedUntil: err.unlockAt ?? new Date(now.getTime() + DEFAULT_LOCK_MS) }),
  }
}

/**
 * Builds ISAPI clients from Device rows (password decrypted only here) and records every call's
 * outcome on the row: lastSeenAt, lastCallAt, lastError and lockedUntil, which the status derives from.
 */
export function createDeviceConnector (deps: DeviceConnectorDeps) {
  const now = deps.now ?? Date.now
  const written = new Map<string, { code: string | null, at: number }>()

  async function record (deviceId: string, outcome: IsapiOutcome) {
    const at = new Date(now())
    const data = healthUpdate(outcome, at)
    if (!data) return
    const code = (data.lastErrorCode as string | null | undefined) ?? null
    const last = written.get(deviceId)
    if (last && last.code === code && code === null && at.getTime() - last.at < HEALTHY_WRITE_INTERVAL_MS) return
    written.set(deviceId, { code, at: at.getTime() })
    await deps.db.device.updateMany({ where: { id: deviceId }, data })
  }

  return {
    /** Runs `fn` as the only operation on these terminals across all processes (sync shares hold the same locks). */
    exclusive: <T>(deviceIds: string[], fn: () => Promise<T>) => deps.locks.exclusive(deviceIds, fn),
    /** A client for this device; 422 DEVICE_NO_CREDENTIALS when it has no username or password yet. */
    connect (device: Device): IsapiClient {
      if (!device.username || !device.passwordEncrypted) {
        throw unprocessable('DEVICE_NO_CREDENTIALS', `Device "${device.name}" has no username and password yet`)
      }
      // A fresh row (credentials or address changed) must not be skipped by the write throttle.
      written.delete(device.id)
      return createIsapiClient({
        baseUrl: `${device.https ? 'https' : 'http'}://${device.host.includes(':') ? `[${device.host}]` : device.host}:${device.port}`,
        username: device.username,
        password: deps.cipher.decrypt(device.passwordEncrypted),
        authMode: device.authMode === 'basic' ? 'basic' : 'digest',
        acceptSelfSignedCert: device.tlsInsecure,
        dispatcher: deps.isapi.dispatcher,
        insecureDispatcher: deps.isapi.insecureDispatcher,
        registry: deps.isapi.registry,
        metrics: deps.metrics,
        timeouts: deps.timeouts,
        log: deps.log,
        onOutcome: (outcome) => record(device.id, outcome),
      })
    },
  }
}

export type DeviceConnector = ReturnType<typeof createDeviceConnector>
