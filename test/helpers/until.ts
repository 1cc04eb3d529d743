import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Reads until `ok` holds or the time is up; returns the last value read (assert on it). */
export async function until<T> (read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await read()
    if (ok(v) || Date.now() > deadline) return v
    await sleep(50)
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (now). */
export function freePort () {
  return new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
