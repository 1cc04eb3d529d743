import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import { createIsapiDispatchers, sharedIsapiRegistry, type IsapiDeviceRegistry } from '../integrations/isapi/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    isapi: { dispatcher: Dispatcher, insecureDispatcher: Dispatcher, registry: IsapiDeviceRegistry }
  }
}

/** The HTTP agents every terminal call goes through, and the process-wide per-device queue. */
export default fp(async (app) => {
  const dispatchers = createIsapiDispatchers({ connectTimeoutMs: app.config.ISAPI_CONNECT_TIMEOUT_MS })
  app.decorate('isapi', { dispatcher: dispatchers.dispatcher, insecureDispatcher: dispatchers.insecureDispatcher, registry: sharedIsapiRegistry })
  app.addHook('onClose', async () => { await dispatchers.close() })
}, { name: 'isapi', dependencies: ['config'] })
