import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { zStr } from './isapi.decode.js'
import { randomHex } from './isapi.digest.js'
import { MAX_PAGE_SIZE, chunk, clampPageSize, collect, scanPages, searchPageSchema } from './isapi.paging.js'
import { jsonBody, localError, type IsapiRequester, type IsapiTimeouts, type RequestBody } from './isapi.request.js'
import { employeeNoSchema } from './isapi.users.js'

/** Access terminals have one visible-light library: FDID "1", blackFD. FPID is the employeeNo. */
const LIBRARY = { faceLibType: 'blackFD', FDID: '1' } as const
const FDLIB = '/ISAPI/Intelligent/FDLib'

export type FaceSource = { image: Buffer } | { faceURL: string }

/**
 * The multipart body of ISAPI.md §5.2, byte for byte: the FaceDataRecord JSON part first and without
 * a filename, then the JPEG as face.jpg. Built as one Buffer so it goes out with a Content-Length.
 */
export function buildFaceMultipart (employeeNo: string, jpeg: Buffer, boundary = `----facegate${randomHex(24)}`) {
  const record = JSON.stringify({ ...LIBRARY, FPID: employeeNo })
  const head = `--${boundary}\r\n` +
    'Content-Disposition: form-data; name="FaceDataRecord";\r\n' +
    'Content-Type: application/json\r\n\r\n' +
    `${record}\r\n` +
    `--${boundary}\r\n` +
    'Content-Disposition: form-data; name="FaceImage"; filename="face.jpg";\r\n' +
    'Content-Type: image/jpeg\r\n\r\n'
  const bytes = Buffer.concat([Buffer.from(head, 'utf8'), jpeg, Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')])
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` }
}

const faceMatchSchema = z.object({ FPID: zStr, faceURL: zStr.optional(), modelData: zStr.optional() })
  .transform((m) => ({ employeeNo: m.FPID, faceURL: m.faceURL || null, modelData: m.modelData ?? null }))
export type IsapiFace = z.output<typeof faceMatchSchema>

export const faceSearchSchema = searchPageSchema(undefined, 'MatchList', faceMatchSchema)

/** The path (and query) of a device faceURL: the host it names may be unreachable; `@WEB…` stays. */
export function faceUrlPath (faceURL: string) {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/]*)?(\/[^#]*)/i.exec(faceURL.trim())
  if (!m) return undefined
  // Normalised the way undici will send it, so the Digest uri matches the request line.
  const u = new URL(m[1], 'http://device.invalid')
  return u.pathname + u.search
}

// A sync sends one person's face to every terminal at about the same time: the multipart body (the
// JPEG copied between two headers) is built once per person and picture, not once per terminal.
// Keyed by the image Buffer itself (one person's photo; callers never change its bytes).
const lastBody = new WeakMap<Buffer, { employeeNo: string, body: ReturnType<typeof buildFaceMultipart> }>()

function faceMultipartOf (employeeNo: string, image: Buffer) {
  const last = lastBody.get(image)
  if (last?.employeeNo === employeeNo) return last.body
  const body = buildFaceMultipart(employeeNo, image)
  lastBody.set(image, { employeeNo, body })
  return body
}

/** Validates locally (nothing is sent for a bad input) and builds the upload body. */
function uploadBody (r: IsapiRequester, operation: string, employeeNo: string, source: FaceSource, maxFaceBytes: number): RequestBody {
  if (!employeeNoSchema.safeParse(employeeNo).success) throw localError(r.deviceKey, operation, 'invalid employeeNo')
  if ('faceURL' in source) {
    if (!/^https?:\/\/\S+$/i.test(source.faceURL)) throw localError(r.deviceKey, operation, 'faceURL must be an http(s) URL the device can fetch')
    return jsonBody({ ...LIBRARY, FPID: employeeNo, faceURL: source.faceURL })
  }
  const { image } = source
  if (image.length < 4 || image[0] !== 0xff || image[1] !== 0xd8) throw localError(r.deviceKey, operation, 'image must be a JPEG')
  if (image.length > maxFaceBytes) throw localError(r.deviceKey, operation, `image is ${image.length} bytes; the limit is ${maxFaceBytes}`)
  return () => faceMultipartOf(employeeNo, image)
}

function createFaceSearch (r: IsapiRequester, t: IsapiTimeouts) {
  const searchFaces = async (o: { searchId?: string, position?: number, maxResults?: number, employeeNo?: string } = {}) => {
    const cond = {
      searchID: o.searchId ?? randomBytes(8).toString('hex'),
      searchResultPosition: o.position ?? 0,
      maxResults: clampPageSize(o.maxResults),
      ...LIBRARY,
      ...(o.employeeNo ? { FPID: o.employeeNo } : {}),
    }
    return await r.doc({ operation: 'faceSearch', method: 'POST', path: `${FDLIB}/FDSearch?format=json`, body: jsonBody(cond), timeoutMs: t.searchMs }, faceSearchSchema)
  }
  const scan = (employeeNo?: string) => {
    const searchId = randomBytes(8).toString('hex')
    return scanPages({ deviceKey: r.deviceKey, operation: 'faceSearch' }, (position) => searchFaces({ searchId, position, employeeNo }))
  }
  return {
    /** One FDSearch page (flat body, ≤30). */
    searchFaces,
    iterateFaces: () => scan(),
    async getFace (employeeNo: string) {
      if (!employeeNoSchema.safeParse(employeeNo).success) throw localError(r.deviceKey, 'faceSearch', 'invalid employeeNo')
      const found = await collect(scan(employeeNo))
      return found.find((f) => f.employeeNo === employeeNo) ?? null
    },
  }
}

export function createFaceOps (r: IsapiRequester, t: IsapiTimeouts, maxFaceBytes: number) {
  const upload = async (operation: string, method: 'POST' | 'PUT', endpoint: string, employeeNo: string, source: FaceSource) => {
    const body = uploadBody(r, operation, employeeNo, source, maxFaceBytes)
    await r.ok({ operation, method, path: `${FDLIB}/${endpoint}?format=json`, body, timeoutMs: t.faceMs })
  }
  return {
    ...createFaceSearch(r, t),
    /** POST FaceDataRecord: adds only; a second face → FACE_EXISTS. The user must exist. */
    addFace: (employeeNo: string, source: FaceSource) => upload('faceAdd', 'POST', 'FaceDataRecord', employeeNo, source),
    /** PUT FDSetUp: creates or replaces the user's face. */
    replaceFace: (employeeNo: string, source: FaceSource) => upload('faceReplace', 'PUT', 'FDSetUp', employeeNo, source),
    /** Downloads a faceURL with Digest on its path only. */
    async downloadFace (faceURL: string) {
      const path = faceUrlPath(faceURL)
      if (!path) throw localError(r.deviceKey, 'faceDownload', 'faceURL has no path')
      return await r.bytes({ operation: 'faceDownload', method: 'GET', path, timeoutMs: t.downloadMs })
    },
    /** Deletes faces of the listed users (≤30 per call); an empty list is refused locally. */
    async deleteFaces (employeeNos: readonly string[]) {
      if (employeeNos.length === 0) throw localError(r.deviceKey, 'faceDelete', 'refusing an empty FPID list')
      for (const e of employeeNos) if (!employeeNoSchema.safeParse(e).success) throw localError(r.deviceKey, 'faceDelete', `invalid employeeNo ${JSON.stringify(e)}`)
      for (const batch of chunk([...new Set(employeeNos)], MAX_PAGE_SIZE)) {
        await r.ok({
          operation: 'faceDelete', method: 'PUT', path: `${FDLIB}/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD`,
          body: jsonBody({ FPID: batch.map((value) => ({ value })) }), timeoutMs: t.deleteMs,
        })
      }
    },
  }
}
