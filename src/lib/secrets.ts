import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'

const secretsSchema = z.object({
  JWT_SECRET: z.string().min(32),
  MEDIA_SIGNING_SECRET: z.string().min(32),
  CREDENTIALS_KEY: z.string().min(32),
  EMBEDDED_PG_PASSWORD: z.string().min(16),
})

export type GeneratedSecrets = z.infer<typeof secretsSchema>

const generate = (): GeneratedSecrets => ({
  JWT_SECRET: randomBytes(48).toString('base64url'),
  MEDIA_SIGNING_SECRET: randomBytes(48).toString('base64url'),
  CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  EMBEDDED_PG_PASSWORD: randomBytes(24).toString('base64url'),
})

/**
 * Secrets for the quick start: generated on first start and kept in
 * DATA_DIR/secrets.json (mode 600), so restarts keep sessions and data valid.
 * Values given in the environment always win over this file.
 */
export async function loadOrCreateSecrets (dataDir: string): Promise<GeneratedSecrets> {
  const file = path.resolve(dataDir, 'secrets.json')
  const existing = await readFile(file, 'utf8').then((s) => JSON.parse(s) as unknown, () => undefined)
  const parsed = secretsSchema.partial().safeParse(existing ?? {})
  const merged = { ...generate(), ...(parsed.success ? parsed.data : {}) }
  if (!existing || !parsed.success || Object.keys(parsed.data).length < Object.keys(merged).length) {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 })
  }
  await chmod(file, 0o600)
  return merged
}
