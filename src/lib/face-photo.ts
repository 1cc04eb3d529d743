import type { Metadata } from 'sharp'

// Loaded on first use: libvips costs ~20 MB of memory that a server doing only sync or intake never needs.
const loadSharp = async () => (await import('sharp')).default
import { unprocessable } from './errors.js'

export const MAX_FACE_BYTES = 200 * 1024
export const MIN_FACE_SIDE = 80
const MAX_SIDES = [640, 512, 400, 320]
const QUALITIES = [85, 75, 65, 55]
/** Raster formats only: an SVG (XML with links, rendered by librsvg) is no photo. AVIF reports as heif. */
const PHOTO_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'])

const invalid = (why: string) => unprocessable('PHOTO_INVALID', `The photo cannot be used: ${why}`)

/**
 * Normalises an uploaded photo to what terminals accept: upright (EXIF
 * orientation applied), JPEG, at most 200 KB, short side at least 80 px.
 */
export async function normaliseFacePhoto (input: Buffer): Promise<{ jpeg: Buffer, width: number, height: number }> {
  if (input.length === 0) throw invalid('the file is empty')
  const sharp = await loadSharp()
  let meta: Metadata
  try {
    meta = await sharp(input, { failOn: 'error' }).metadata()
  } catch {
    throw invalid('it is not an image we can decode (JPEG, PNG, WebP, GIF, TIFF or AVIF)')
  }
  if (!PHOTO_FORMATS.has(meta.format)) throw invalid(`${meta.format} files are not accepted; send JPEG, PNG, WebP, GIF, TIFF or AVIF`)
  if (!meta.width || !meta.height) throw invalid('the image has no size')
  const swap = (meta.orientation ?? 1) >= 5
  const [width, height] = swap ? [meta.height, meta.width] : [meta.width, meta.height]
  const shortSide = Math.min(width, height)
  if (shortSide < MIN_FACE_SIDE) {
    throw unprocessable('PHOTO_TOO_SMALL', `The photo is ${width}×${height} px; its short side must be at least ${MIN_FACE_SIDE} px`)
  }

  for (const maxSide of MAX_SIDES) {
    // Never shrink the short side below the minimum, whatever the aspect ratio.
    const scale = Math.min(1, Math.max(maxSide / Math.max(width, height), MIN_FACE_SIDE / shortSide))
    const target = { width: Math.round(width * scale), height: Math.round(height * scale) }
    for (const quality of QUALITIES) {
      let jpeg: Buffer
      try {
        jpeg = await sharp(input, { failOn: 'error' })
          .rotate()
          .resize({ ...target, fit: 'fill' })
          .flatten({ background: '#ffffff' })
          .jpeg({ quality, mozjpeg: true })
          .toBuffer()
      } catch {
        throw invalid('the image data is damaged')
      }
      if (jpeg.length <= MAX_FACE_BYTES) return { jpeg, ...target }
    }
  }
  throw invalid('it cannot be compressed below 200 KB')
}

export function decodeBase64Image (value: string): Buffer {
  const payload = value.replace(/^data:[^;,]*;base64,/, '').replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload)) throw invalid('imageBase64 is not valid base64')
  return Buffer.from(payload, 'base64')
}
