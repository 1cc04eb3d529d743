import path from 'node:path'
import { parseEnv, type Config } from './config.js'
import { loadOrCreateSecrets } from './lib/secrets.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js'

/**
 * Turns the environment into a complete Config: secrets not given in the
 * environment come from DATA_DIR/secrets.json, and without DATABASE_URL an
 * embedded Postgres is started under DATA_DIR.
 */
export async function resolveConfig (env: Record<string, string | undefined>, log: (msg: string) => void) {
  const parsed = parseEnv(env)
  const dataDir = path.resolve(parsed.DATA_DIR)
  const secrets = await loadOrCreateSecrets(dataDir)
  let embedded: EmbeddedDatabase | undefined
  let databaseUrl = parsed.DATABASE_URL
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir, port: parsed.EMBEDDED_PG_PORT, password: secrets.EMBEDDED_PG_PASSWORD, database: 'facegate', log })
    databaseUrl = embedded.url
    log(`using embedded Postgres on 127.0.0.1:${parsed.EMBEDDED_PG_PORT} (data in ${path.join(dataDir, 'pg')})`)
  }
  const publicHost = parsed.HOST === '0.0.0.0' || parsed.HOST === '::' ? '127.0.0.1' : parsed.HOST
  const config: Config = Object.freeze({
    ...parsed,
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: parsed.JWT_SECRET ?? secrets.JWT_SECRET,
    MEDIA_SIGNING_SECRET: parsed.MEDIA_SIGNING_SECRET ?? secrets.MEDIA_SIGNING_SECRET,
    CREDENTIALS_KEY: parsed.CREDENTIALS_KEY ?? secrets.CREDENTIALS_KEY,
    PUBLIC_BASE_URL: (parsed.PUBLIC_BASE_URL ?? `http://${publicHost}:${parsed.PORT}`).replace(/\/+$/, ''),
  })
  return { config, embedded }
}
