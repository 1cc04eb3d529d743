import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { AppError } from './errors.js'
import { decodeBase64Image, MAX_FACE_BYTES, MIN_FACE_SIDE, normaliseFacePhoto } from './face-photo.js'

/** Deterministic pseudo-random bytes (xorshift32): noise JPEG encoders cannot squeeze. */
function noiseBytes (length: number, seed = 0x2545f491) {
  const out = Buffer.alloc(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

const noiseImage = (width: number, height: number, seed?: number) =>
  sharp(noiseBytes(width * height * 3, seed), { raw: { width, height, channels: 3 } })

const solid = (width: number, height: number, background: string | sharp.RGBA, channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background } })

async function rejection (promise: Promise<unknown>) {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(AppError)
  return err as AppError
}

/** Checks what every accepted photo must be, and returns its metadata. */
async function expectTerminalReady (result: { jpeg: Buffer, width: number, height: number }) {
  expect(result.jpeg.length).toBeGreaterThan(0)
  expect(result.jpeg.length).toBeLessThanOrEqual(MAX_FACE_BYTES)
  expect(result.jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]))
  const meta = await sharp(result.jpeg).metadata()
  expect(meta.format).toBe('jpeg')
  expect(meta.width).toBe(result.width)
  expect(meta.height).toBe(result.height)
  expect(Math.min(meta.width, meta.height)).toBeGreaterThanOrEqual(MIN_FACE_SIDE)
  expect(meta.orientation ?? 1).toBe(1)
  return meta
}

async function pixel (jpeg: Buffer, x: number, y: number) {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * info.channels
  return { r: data[i], g: data[i + 1], b: data[i + 2] }
}

describe('normaliseFacePhoto', () => {
  it('converts a PNG with an alpha channel to an opaque JPEG on white', async () => {
    // Left half fully transparent, right half opaque blue.
    const width = 300
    const height = 200
    const raw = Buffer.alloc(width * height * 4)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4
        if (x >= width / 2) raw.set([0, 0, 255, 255], i)
      }
    }
    const png = await sharp(raw, { raw: { width, height, channels: 4 } }).png().toBuffer()
    expect((await sharp(png).metadata()).hasAlpha).toBe(true)

    const result = await normaliseFacePhoto(png)
    const meta = await expectTerminalReady(result)
    expect([meta.width, meta.height]).toEqual([300, 200])
    expect(meta.hasAlpha).toBe(false)
    const left = await pixel(result.jpeg, 20, 100)
    const right = await pixel(result.jpeg, 280, 100)
    expect(Math.min(left.r, left.g, left.b)).toBeGreaterThan(240) // transparent became white, not black
    expect(right.b).toBeGreaterThan(200)
    expect(right.r).toBeLessThan(60)
  })

  describe('a 5 MB JPEG', () => {
    let big: Buffer
    beforeAll(async () => {
      big = await noiseImage(2200, 1800).jpeg({ quality: 100 }).toBuffer()
    })

    it('is shrunk below 200 KB with its aspect ratio kept', async () => {
      expect(big.length).toBeGreaterThanOrEqual(5 * 1024 * 1024)
      const result = await normaliseFacePhoto(big)
      const meta = await expectTerminalReady(result)
      expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(640)
      expect(meta.width).toBeGreaterThan(meta.height)
      expect(meta.width / meta.height).toBeCloseTo(2200 / 1800, 1)
    })
  })

  it('applies EXIF orientation 6: the output is upright, sides swapped, without orientation tag', async () => {
    // Stored landscape 400×200: top half red, bottom half blue. Orientation 6 means
    // "rotate 90° clockwise to display", so upright it is portrait with red on the right.
    const top = await solid(400, 100, '#ff0000').png().toBuffer()
    const stored = await solid(400, 200, '#0000ff')
      .composite([{ input: top, left: 0, top: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const inMeta = await sharp(stored).metadata()
    expect([inMeta.width, inMeta.height, inMeta.orientation]).toEqual([400, 200, 6])

    const result = await normaliseFacePhoto(stored)
    const meta = await expectTerminalReady(result)
    expect([result.width, result.height]).toEqual([200, 400])
    expect([meta.width, meta.height]).toEqual([200, 400])
    expect(meta.orientation).toBeUndefined()
    const left = await pixel(result.jpeg, 20, 200)
    const right = await pixel(result.jpeg, 180, 200)
    expect(right.r).toBeGreaterThan(200)
    expect(right.b).toBeLessThan(60)
    expect(left.b).toBeGreaterThan(200)
    expect(left.r).toBeLessThan(60)
  })

  it('judges the minimum size on the upright image (orientation 8, 60×300 stored)', async () => {
    const stored = await solid(300, 60, '#808080').jpeg().withMetadata({ orientation: 8 }).toBuffer()
    const err = await rejection(normaliseFacePhoto(stored))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_TOO_SMALL')
  })

  it('rejects a 1×1 image with 422 PHOTO_TOO_SMALL', async () => {
    const tiny = await solid(1, 1, '#ffffff').png().toBuffer()
    const err = await rejection(normaliseFacePhoto(tiny))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_TOO_SMALL')
  })

  it('accepts an image whose short side is exactly the minimum', async () => {
    const result = await normaliseFacePhoto(await solid(MIN_FACE_SIDE, 120, '#336699').png().toBuffer())
    const meta = await expectTerminalReady(result)
    expect([meta.width, meta.height]).toEqual([MIN_FACE_SIDE, 120])
  })

  it('never shrinks a long thin image below the minimum short side', async () => {
    const result = await normaliseFacePhoto(await noiseImage(2000, 100, 7).png().toBuffer())
    const meta = await expectTerminalReady(result)
    expect(meta.height).toBeGreaterThanOrEqual(MIN_FACE_SIDE)
    expect(meta.width).toBeGreaterThan(meta.height)
  })

  it('keeps a small JPEG small and its size unchanged', async () => {
    const result = await normaliseFacePhoto(await noiseImage(200, 240, 3).jpeg({ quality: 80 }).toBuffer())
    const meta = await expectTerminalReady(result)
    expect([meta.width, meta.height]).toEqual([200, 240])
  })

  it.each([
    ['WebP', () => noiseImage(300, 300, 11).webp().toBuffer()],
    ['GIF', () => solid(120, 160, '#00ff00').gif().toBuffer()],
    ['TIFF', () => solid(160, 120, '#00ff00').tiff().toBuffer()],
  ])('converts %s to JPEG', async (_name, make) => {
    await expectTerminalReady(await normaliseFacePhoto(await make()))
  })

  it('converts AVIF to JPEG', async () => {
    await expectTerminalReady(await normaliseFacePhoto(await solid(200, 200, '#123456').avif().toBuffer()))
  })

  it('rejects an SVG, which is a document rather than a photo, with PHOTO_INVALID', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="red"/></svg>')
    expect((await sharp(svg).metadata()).format).toBe('svg') // sharp itself would render it
    const err = await rejection(normaliseFacePhoto(svg))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_INVALID')
  })

  it('rejects garbage bytes with 422 PHOTO_INVALID', async () => {
    const err = await rejection(normaliseFacePhoto(noiseBytes(4096)))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_INVALID')
  })

  it('rejects text that is not an image', async () => {
    const err = await rejection(normaliseFacePhoto(Buffer.from('hello, this is not a photo')))
    expect(err.code).toBe('PHOTO_INVALID')
  })

  it('rejects an empty buffer with 422 PHOTO_INVALID', async () => {
    const err = await rejection(normaliseFacePhoto(Buffer.alloc(0)))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_INVALID')
  })

  it('rejects a truncated JPEG (a valid header, damaged data) with PHOTO_INVALID', async () => {
    const whole = await noiseImage(400, 400, 5).jpeg({ quality: 90 }).toBuffer()
    const err = await rejection(normaliseFacePhoto(whole.subarray(0, Math.floor(whole.length / 3))))
    expect(err.statusCode).toBe(422)
    expect(err.code).toBe('PHOTO_INVALID')
  })
})

describe('decodeBase64Image', () => {
  const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xfb, 0xff])

  it('decodes plain base64, a data: URL, base64url and base64 with line breaks', () => {
    const b64 = bytes.toString('base64')
    expect(decodeBase64Image(b64)).toEqual(bytes)
    expect(decodeBase64Image(`data:image/jpeg;base64,${b64}`)).toEqual(bytes)
    expect(decodeBase64Image(bytes.toString('base64url'))).toEqual(bytes)
    expect(decodeBase64Image(`${b64.slice(0, 8)}\n${b64.slice(8)}`)).toEqual(bytes)
  })

  it('rejects text that is not base64 with 422 PHOTO_INVALID', () => {
    expect(() => decodeBase64Image('this is *not* base64!')).toThrow(expect.objectContaining({ statusCode: 422, code: 'PHOTO_INVALID' }))
  })
})
