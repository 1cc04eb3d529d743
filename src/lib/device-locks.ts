import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { conflict } from './errors.js'

// Namespace of facegate's advisory locks (the first half of the two-int key).
const DEVICE_LOCK_SPACE = 0x46470001

const DEFAULT_WAIT_MS = 20_000
const POLL_MS = 150

export interface DeviceLock { release: () => Promise<void> }

/**
 * One holder per device across every process on the database: a session advisory lock on a
 * dedicated connection. If the process dies, Postgres drops the connection and the lock with it.
 */
export function createDeviceLocks (databaseUrl: string, max: number) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 10_000 })
  pool.on('error', () => {})

  return {
    async tryLock (deviceIds: string[]): Promise<DeviceLock | null> {
      const client = await pool.connect()
      const keys = [...new Set(deviceIds)].sort()
      const held: string[] = []
      let broken = false
      try {
        for (const id of keys) {
          const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [DEVICE_LOCK_SPACE, id])
          if (!rows[0].ok) break
          held.push(id)
        }
      } catch (err) {
        broken = true
        client.release(true)
        throw err
      } finally {
        if (!broken && held.length !== keys.length) {
          for (const id of held) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [DEVICE_LOCK_SPACE, id]).catch(() => {})
          client.release()
        }
      }
      if (held.length !== keys.length) return null
      return {
        async release () {
          try {
            for (const id of held) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [DEVICE_LOCK_SPACE, id])
            client.release()
          } catch {
            client.release(true)
          }
        },
      }
    },
    /** Runs `fn` holding the devices' locks, waiting up to `waitMs` for them; 409 DEVICE_IN_USE if they stay taken. */
    async exclusive<T> (deviceIds: string[], fn: () => Promise<T>, waitMs = DEFAULT_WAIT_MS): Promise<T> {
      const deadline = Date.now() + waitMs
      let lock = await this.tryLock(deviceIds)
      while (!lock && Date.now() < deadline) {
        await sleep(POLL_MS)
        lock = await this.tryLock(deviceIds)
      }
      if (!lock) throw conflict('DEVICE_IN_USE', 'Another operation (such as a sync) is using this terminal right now; try again shortly')
      try {
        return await fn()
      } finally {
        await lock.release()
      }
    },
    close: () => pool.end(),
  }
}

export type DeviceLocks = ReturnType<typeof createDeviceLocks>
