import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import { createIsapiDispatchers, sharedIsapiRegistry, type IsapiDeviceRegistry } from '../integrations/isapi/index.js'
import { createDeviceLocks, type DeviceLocks } from '../lib/device-locks.js'

declare module 'fastify' {
  interface FastifyInstance {
    isapi: { dispatcher: Dispatcher, insecureDispatcher: Dispatcher, registry: IsapiDeviceRegistry }
    /** One operation per terminal across every process on the database. */
    deviceLocks: DeviceLocks
  }
}

/** The HTTP agents every terminal call goes through, the process-wide per-device queue, and the cross-process device locks. */
export default fp(async (app) => {
  const dispatchers = createIsapiDispatchers({ connectTimeoutMs: app.config.ISAPI_CONNECT_TIMEOUT_MS })
  app.decorate('isapi', { dispatcher: dispatchers.dispatcher, insecureDispatcher: dispatchers.insecureDispatcher, registry: sharedIsapiRegistry })
  const deviceLocks = createDeviceLocks(app.config.DATABASE_URL, app.config.SYNC_CONCURRENCY + 4)
  app.decorate('deviceLocks', deviceLocks)
  app.addHook('onClose', async () => {
    await dispatchers.close()
    await deviceLocks.close()
  })
}, { name: 'isapi', dependencies: ['config'] })
