import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

const VERSION = 'v1'

/**
 * AES-256-GCM for device passwords at rest: `v1:<iv>:<tag>:<ciphertext>`
 * (base64). The key is 32 bytes given as base64 in config.
 */
export function createCredentialsCipher (keyBase64: string) {
  const key = Buffer.from(keyBase64, 'base64')
  if (key.length !== 32) throw new Error('CREDENTIALS_KEY must be 32 bytes, base64-encoded')

  return {
    encrypt (plaintext: string) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':')
    },

    decrypt (stored: string) {
      const [version, iv, tag, data] = stored.split(':')
      if (version !== VERSION || !iv || !tag || data === undefined) throw new Error('unrecognised encrypted credential')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'))
      decipher.setAuthTag(Buffer.from(tag, 'base64'))
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8')
    },
  }
}

export type CredentialsCipher = ReturnType<typeof createCredentialsCipher>
