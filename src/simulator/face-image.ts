import { badJsonContent, badJsonFormat, errorJson, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { IsapiRequest, JsonObject, SimContext } from './sim-context.js'
import { parseJsonObject } from './sim-context.js'
import { multipartBoundary, parseMultipart } from './multipart.js'

export interface FaceUpload { record: JsonObject, image?: Buffer }

/**
 * Multipart: the FaceDataRecord JSON part must come first; the next part is
 * the picture whatever its name (the device goes by position). Otherwise the
 * whole body is the JSON record and the picture comes from faceURL.
 */
export function readFaceUpload (req: IsapiRequest): { upload: FaceUpload } | { reply: Reply } {
  const boundary = multipartBoundary(req.headers['content-type'])
  if (!boundary) {
    const parsed = parseJsonObject(req.body)
    return 'reply' in parsed ? parsed : { upload: { record: parsed.value } }
  }
  const parts = parseMultipart(req.body, boundary)
  if (!parts || parts.length === 0) return { reply: badJsonFormat() }
  const record = parseJsonObject(parts[0].body)
  if ('reply' in record) return record
  return { upload: { record: record.value, image: parts[1]?.body } }
}

export function isLoopbackHost (hostname: string) {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]' || hostname === '::1' || hostname === 'localhost'
}

const urlDownloadFail = () => errorJson(400, 6, 'urlDownloadFail', 'faceURL')

async function download (url: string, ctx: SimContext): Promise<Buffer | undefined> {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return undefined
  }
  // The simulator must never reach outside the machine; a real LAN terminal could not reach the internet either.
  if (target.protocol !== 'http:' || !isLoopbackHost(target.hostname)) return undefined
  // The device reads its own files directly; over HTTP it would wait on itself (one request at a time).
  if (Number(target.port || 80) === Number(new URL(ctx.selfOrigin()).port)) {
    return target.pathname.startsWith('/LOCALS/') ? ctx.state.pictures.get(decodeURIComponent(target.pathname)) : undefined
  }
  try {
    const res = await fetch(target, { redirect: 'manual', signal: AbortSignal.timeout(ctx.config.faceDownloadTimeoutMs) })
    if (res.status !== 200) {
      await res.body?.cancel()
      return undefined
    }
    return Buffer.from(await res.arrayBuffer())
  } catch {
    return undefined
  }
}

/** The picture bytes of an upload: the multipart part, or what the device downloads from faceURL. */
export async function obtainImage (upload: FaceUpload, ctx: SimContext): Promise<{ bytes: Buffer } | { reply: Reply }> {
  if (upload.image) return { bytes: upload.image }
  const url = upload.record.faceURL
  if (url === undefined) return { reply: parametersLack('faceURL') }
  if (typeof url !== 'string' || /^data:/i.test(url)) return { reply: badJsonContent('faceURL') }
  const bytes = await download(url, ctx)
  return bytes ? { bytes } : { reply: urlDownloadFail() }
}

/** Only JPEG (FF D8 FF) up to the size cap is modelled; anything else is rejected like an unusable face. */
export function checkImage (bytes: Buffer, maxBytes: number): Reply | undefined {
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
  if (!isJpeg || bytes.length > maxBytes) return errorJson(400, 6, 'faceQualityTooLow', 'faceQualityTooLow')
  return undefined
}
