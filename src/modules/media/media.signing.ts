import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Terminals fetch faces by URL and cannot send our bearer token, so a photo
 * URL for a terminal carries an expiry and an HMAC over path and expiry.
 */
export function createMediaSigner ({ secret, publicBaseUrl }: { secret: string, publicBaseUrl: string }) {
  const base = publicBaseUrl.replace(/\/+$/, '')
  const signature = (path: string, expires: number) =>
    createHmac('sha256', secret).update(`${path}\n${expires}`).digest('base64url')

  return {
    signedUrl (path: string, ttlSeconds: number, now = Date.now()) {
      const expires = Math.floor(now / 1000) + ttlSeconds
      return `${base}${path}?expires=${expires}&sig=${signature(path, expires)}`
    },

    verify (path: string, expires: number, sig: string, now = Date.now()): 'ok' | 'expired' | 'invalid' {
      const expected = Buffer.from(signature(path, expires))
      const given = Buffer.from(sig)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid'
      return expires * 1000 < now ? 'expired' : 'ok'
    },
  }
}

export type MediaSigner = ReturnType<typeof createMediaSigner>
