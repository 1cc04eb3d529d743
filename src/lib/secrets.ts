import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
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
 *
 * An existing file that cannot be read or is invalid is an error, never
 * silently replaced: new secrets would lock us out of the embedded database
 * (its password is in here) and the old values would be lost for good.
 */
export async function loadOrCreateSecrets (dataDir: string): Promise<GeneratedSecrets> {
  const file = path.resolve(dataDir, 'secrets.json')
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new Error(`cannot read ${file}: ${err.message}`)
  })
  let stored: Partial<GeneratedSecrets> = {}
  if (text !== undefined) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw new Error(`${file} is not valid JSON (${(err as Error).message}); repair it, or delete it to generate new secrets (the embedded database then needs a new data folder too)`)
    }
    const parsed = secretsSchema.partial().safeParse(json)
    if (!parsed.success) {
      throw new Error(`${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
    }
    stored = parsed.data
  }
  const merged: GeneratedSecrets = { ...generate(), ...stored }
  if (Object.keys(stored).length < Object.keys(merged).length) {
    // Write-then-rename, so a crash never leaves a half-written file behind.
    await mkdir(path.dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 })
    await chmod(tmp, 0o600)
    await rename(tmp, file)
  }
  await chmod(file, 0o600)
  return merged
}
