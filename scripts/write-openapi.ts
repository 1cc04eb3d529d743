import { writeFile } from 'node:fs/promises'
import { buildApp } from '../src/app.js'
import { parseEnv, type Config } from '../src/config.js'

// Writes openapi.json without a database: the document only needs the routes.
const parsed = parseEnv({ ...process.env, LOG_LEVEL: 'silent' })
const config: Config = Object.freeze({
  ...parsed,
  DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused',
  JWT_SECRET: 'x'.repeat(32),
  MEDIA_SIGNING_SECRET: 'x'.repeat(32),
  CREDENTIALS_KEY: Buffer.alloc(32).toString('base64'),
  PUBLIC_BASE_URL: parsed.PUBLIC_BASE_URL ?? 'http://127.0.0.1:3000',
})
const app = await buildApp({ config, logger: false })
await app.ready()
await writeFile('openapi.json', JSON.stringify(app.swagger(), null, 2) + '\n')
await app.close()
process.stdout.write('wrote openapi.json\n')
