import { resolveConfig } from '../bootstrap.js'
import { migrate } from './migrate.js'

// `npm run db:migrate`: applies pending migrations and exits (a release step).
const say = (msg: string) => process.stdout.write(`${msg}\n`)
const { config, embedded } = await resolveConfig(process.env, say)
try {
  const applied = await migrate(config.DATABASE_URL, { log: say })
  say(applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database is up to date')
} finally {
  await embedded?.stop()
}
