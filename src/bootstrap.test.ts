import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { resolveConfig } from './bootstrap.js'
import { ConfigError, parseEnv } from './config.js'
import { loadOrCreateSecrets } from './lib/secrets.js'
import type { EmbeddedDatabase } from './db/embedded.js'
import { freePort } from '../test/helpers/until.js'

const tempDirs: string[] = []
/** A fresh directory under os.tmpdir() that other users may pass through (mkdtemp makes it 0700). */
async function tempParent () {
  const dir = await mkdtemp(path.join(tmpdir(), 'facegate-boot-'))
  await chmod(dir, 0o755)
  tempDirs.push(dir)
  return dir
}

let running: EmbeddedDatabase | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

async function withClient<T> (url: string, fn: (c: pg.Client) => Promise<T>) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const mode = async (file: string) => (await stat(file)).mode & 0o777

describe('resolveConfig with embedded Postgres', () => {
  it('starts Postgres in a fresh DATA_DIR, keeps secrets in secrets.json (0600) and reuses both on restart', { timeout: 180_000 }, async () => {
    const dataDir = path.join(await tempParent(), 'data') // does not exist yet
    const port = await freePort()
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), PORT: '3100', HOST: '0.0.0.0' }
    const logs: string[] = []

    const first = await resolveConfig(env, (m) => logs.push(m))
    running = first.embedded
    expect(first.embedded).toBeDefined()
    const { config } = first
    expect(config.DATA_DIR).toBe(dataDir)
    expect(new URL(config.DATABASE_URL)).toMatchObject({ protocol: 'postgresql:', hostname: '127.0.0.1', port: String(port), pathname: '/facegate' })
    expect(config.PUBLIC_BASE_URL).toBe('http://127.0.0.1:3100')
    expect(Object.isFrozen(config)).toBe(true)
    expect(logs.some((l) => l.includes(`127.0.0.1:${port}`))).toBe(true)

    await withClient(config.DATABASE_URL, async (c) => {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      expect((await c.query('SELECT current_database() AS db')).rows[0].db).toBe('facegate')
      await c.query('CREATE TABLE kept_across_restarts (id int)')
    })

    const secretsFile = path.join(dataDir, 'secrets.json')
    expect(await mode(secretsFile)).toBe(0o600)
    const secrets = JSON.parse(await readFile(secretsFile, 'utf8'))
    expect(config.JWT_SECRET).toBe(secrets.JWT_SECRET)
    expect(config.MEDIA_SIGNING_SECRET).toBe(secrets.MEDIA_SIGNING_SECRET)
    expect(config.JWT_SECRET.length).toBeGreaterThanOrEqual(32)
    expect(config.DATABASE_URL).toContain(encodeURIComponent(secrets.EMBEDDED_PG_PASSWORD))
    expect(secrets.CREDENTIALS_KEY.length).toBeGreaterThanOrEqual(32)

    if (userInfo().uid === 0) {
      // Postgres ran as the postgres user, which owns its own data folder.
      const pgDir = await stat(path.join(dataDir, 'pg'))
      expect(pgDir.uid).not.toBe(0)
      expect(pgDir.mode & 0o077).toBe(0) // initdb insists on 0700 (or 0750)
    }

    await first.embedded!.stop()
    running = undefined

    const second = await resolveConfig(env, () => {})
    running = second.embedded
    expect(second.config.JWT_SECRET).toBe(config.JWT_SECRET)
    expect(second.config.MEDIA_SIGNING_SECRET).toBe(config.MEDIA_SIGNING_SECRET)
    expect(second.config.DATABASE_URL).toBe(config.DATABASE_URL)
    expect(JSON.parse(await readFile(secretsFile, 'utf8'))).toEqual(secrets)
    expect(await mode(secretsFile)).toBe(0o600)
    await withClient(second.config.DATABASE_URL, async (c) => {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      expect((await c.query("SELECT to_regclass('kept_across_restarts')::text AS t")).rows[0].t).toBe('kept_across_restarts')
    })
  })

  it('works with a DATA_DIR that already exists with mode 0700', { timeout: 180_000 }, async () => {
    const dataDir = path.join(await tempParent(), 'private')
    await mkdir(dataDir, { mode: 0o700 })
    await chmod(dataDir, 0o700)
    const { config, embedded } = await resolveConfig({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) }, () => {})
    running = embedded
    await withClient(config.DATABASE_URL, async (c) => {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    })
    // Others may pass through it, but still not list it; the secrets stay private.
    expect((await mode(dataDir)) & 0o007).toBe(0o001)
    expect(await mode(path.join(dataDir, 'secrets.json'))).toBe(0o600)
  })

  it('uses DATABASE_URL and secrets from the environment when given, without starting Postgres', async () => {
    const dataDir = path.join(await tempParent(), 'data')
    const jwt = 'j'.repeat(40)
    const { config, embedded } = await resolveConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgresql://u:p@db.example:5432/facegate',
      JWT_SECRET: jwt,
      PUBLIC_BASE_URL: 'https://facegate.example/',
    }, () => {})
    expect(embedded).toBeUndefined()
    expect(config.DATABASE_URL).toBe('postgresql://u:p@db.example:5432/facegate')
    expect(config.JWT_SECRET).toBe(jwt)
    expect(config.PUBLIC_BASE_URL).toBe('https://facegate.example')
    // The other secrets still come from (a newly written) secrets.json.
    const secrets = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8'))
    expect(config.MEDIA_SIGNING_SECRET).toBe(secrets.MEDIA_SIGNING_SECRET)
    expect(secrets.JWT_SECRET).not.toBe(jwt)
  })

  it('rejects invalid configuration before starting anything', async () => {
    const dataDir = path.join(await tempParent(), 'data')
    await expect(resolveConfig({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: 'nope' }, () => {})).rejects.toBeInstanceOf(ConfigError)
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('secrets.json', () => {
  it('keeps stored values and adds missing ones', async () => {
    const dir = await tempParent()
    const jwt = 'k'.repeat(48)
    await writeFile(path.join(dir, 'secrets.json'), JSON.stringify({ JWT_SECRET: jwt }), { mode: 0o644 })
    const secrets = await loadOrCreateSecrets(dir)
    expect(secrets.JWT_SECRET).toBe(jwt)
    expect(Object.keys(secrets).sort()).toEqual(['CREDENTIALS_KEY', 'EMBEDDED_PG_PASSWORD', 'JWT_SECRET', 'MEDIA_SIGNING_SECRET'])
    expect(JSON.parse(await readFile(path.join(dir, 'secrets.json'), 'utf8'))).toEqual(secrets)
    expect(await mode(path.join(dir, 'secrets.json'))).toBe(0o600)
    expect(await loadOrCreateSecrets(dir)).toEqual(secrets)
  })

  it('refuses to replace a corrupt file (it holds the embedded database password)', async () => {
    const dir = await tempParent()
    const file = path.join(dir, 'secrets.json')
    await writeFile(file, '{"JWT_SECRET": "truncat')
    await expect(loadOrCreateSecrets(dir)).rejects.toThrow(/secrets\.json is not valid JSON/)
    expect(await readFile(file, 'utf8')).toBe('{"JWT_SECRET": "truncat')
  })

  it('refuses to replace a file with an invalid value, naming it', async () => {
    const dir = await tempParent()
    const file = path.join(dir, 'secrets.json')
    const content = JSON.stringify({ JWT_SECRET: 'short', EMBEDDED_PG_PASSWORD: 'p'.repeat(32) })
    await writeFile(file, content)
    await expect(loadOrCreateSecrets(dir)).rejects.toThrow(/secrets\.json is invalid: JWT_SECRET/)
    expect(await readFile(file, 'utf8')).toBe(content)
  })
})

describe('parseEnv', () => {
  const issuesOf = (env: Record<string, string | undefined>) => {
    try {
      parseEnv(env)
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return (err as ConfigError).issues
    }
    throw new Error('parseEnv accepted the environment')
  }

  it('applies defaults to an empty environment', () => {
    const c = parseEnv({})
    expect(c).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', DATA_DIR: './data', DOCS_ENABLED: true, TRUST_PROXY: false, CORS_ORIGINS: [], EMBEDDED_PG_PORT: 54329 })
    expect(c.DATABASE_URL).toBeUndefined()
    expect(c.JWT_SECRET).toBeUndefined()
  })

  it('refuses a job expiry that a sync slice could outlast', () => {
    expect(issuesOf({ SYNC_SLICE_SECONDS: '30', SYNC_TASK_EXPIRE_SECONDS: '60' })[0]).toMatch(/SYNC_TASK_EXPIRE_SECONDS \(60\) must be at least .* \(61\)/)
    expect(parseEnv({ SYNC_SLICE_SECONDS: '1', SYNC_TASK_EXPIRE_SECONDS: '4' }).SYNC_TASK_EXPIRE_SECONDS).toBe(4)
  })

  it('rejects a non-numeric PORT, naming PORT', () => {
    const issues = issuesOf({ PORT: 'abc' })
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatch(/^PORT: /)
    expect(() => parseEnv({ PORT: 'abc' })).toThrow(/PORT/)
  })

  it('rejects out-of-range ports', () => {
    expect(issuesOf({ PORT: '70000' })[0]).toMatch(/^PORT: /)
    expect(issuesOf({ EMBEDDED_PG_PORT: '0' })[0]).toMatch(/^EMBEDDED_PG_PORT: /)
  })

  it('rejects a JWT_SECRET shorter than 32 characters and accepts one of 32', () => {
    expect(issuesOf({ JWT_SECRET: 'x'.repeat(31) })[0]).toMatch(/^JWT_SECRET: /)
    expect(parseEnv({ JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toBe('x'.repeat(32))
  })

  it('reports every invalid variable at once', () => {
    const issues = issuesOf({ PORT: 'abc', JWT_SECRET: 'short', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud', DOCS_ENABLED: 'yes' })
    expect(issues.map((i) => i.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'DOCS_ENABLED', 'JWT_SECRET', 'LOG_LEVEL', 'PORT'])
  })

  it('treats empty strings as unset', () => {
    const c = parseEnv({ PORT: '', JWT_SECRET: '', DATABASE_URL: '' })
    expect(c.PORT).toBe(3000)
    expect(c.JWT_SECRET).toBeUndefined()
    expect(c.DATABASE_URL).toBeUndefined()
  })

  it('parses booleans and lists', () => {
    expect(parseEnv({ DOCS_ENABLED: 'false', TRUST_PROXY: 'true', CORS_ORIGINS: 'https://a.example, https://b.example,' }))
      .toMatchObject({ DOCS_ENABLED: false, TRUST_PROXY: true, CORS_ORIGINS: ['https://a.example', 'https://b.example'] })
  })
})
