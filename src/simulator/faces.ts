import { checkImage, obtainImage, readFaceUpload } from './face-image.js'
import { removeFace, storeFace } from './face-store.js'
import { readPaging, takePage } from './paging.js'
import { badJsonContent, errorJson, jsonReply, notSupportXml, okJson, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { Route } from './router.js'
import type { IsapiRequest, JsonObject, SimContext } from './sim-context.js'
import { isObject, parseJsonObject } from './sim-context.js'
import { validateEmployeeNo } from './user-validate.js'

/** Terminals have one visible-light library: FDID "1", faceLibType "blackFD". */
function checkLibrary (faceLibType: unknown, fdid: unknown): Reply | undefined {
  if (faceLibType === undefined || faceLibType === null) return parametersLack('faceLibType')
  if (faceLibType !== 'blackFD') return badJsonContent('faceLibType')
  if (fdid === undefined || fdid === null) return parametersLack('FDID')
  if (fdid !== '1') return badJsonContent('FDID')
  return undefined
}

async function saveFace (req: IsapiRequest, ctx: SimContext, replace: boolean): Promise<Reply> {
  const read = readFaceUpload(req)
  if ('reply' in read) return read.reply
  const record = read.upload.record
  const bad = checkLibrary(record.faceLibType, record.FDID) ?? validateEmployeeNo(record.FPID, 'FPID')
  if (bad) return bad
  const fpid = record.FPID as string
  if (!ctx.state.users.has(fpid)) return errorJson(400, 6, 'employeeNoNotExist', 'FPID')
  if (!replace && ctx.state.faces.has(fpid)) return errorJson(400, 6, 'deviceUserAlreadyExistFace', 'FPID')
  const image = await obtainImage(read.upload, ctx)
  if ('reply' in image) return image.reply
  const rejected = checkImage(image.bytes, ctx.config.maxFaceBytes)
  if (rejected) return rejected
  storeFace(ctx.state, fpid, image.bytes)
  return okJson()
}

/** Flat body (not wrapped), ≤30 per page, optional FPID to target one person. */
function search (req: IsapiRequest, ctx: SimContext): Reply {
  const parsed = parseJsonObject(req.body)
  if ('reply' in parsed) return parsed.reply
  const cond: JsonObject = parsed.value
  const bad = checkLibrary(cond.faceLibType, cond.FDID)
  if (bad) return bad
  const paging = readPaging(cond)
  if ('reply' in paging) return paging.reply
  if (cond.FPID !== undefined && typeof cond.FPID !== 'string') return badJsonContent('FPID')
  const all = [...ctx.state.faces.values()].filter((f) => cond.FPID === undefined || f.fpid === cond.FPID)
  const page = takePage(all, paging.page)
  return jsonReply(200, {
    requestURL: '',
    statusCode: 1,
    statusString: 'OK',
    subStatusCode: 'ok',
    responseStatusStrg: page.responseStatusStrg,
    numOfMatches: page.numOfMatches,
    totalMatches: page.totalMatches,
    MatchList: page.items.length ? page.items.map((f) => ({ FPID: f.fpid, faceURL: `${ctx.selfOrigin()}${f.path}` })) : undefined,
  })
}

/** PUT FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD with {"FPID":[{"value":"…"}]}. */
function deleteFaces (req: IsapiRequest, ctx: SimContext): Reply {
  const bad = checkLibrary(req.query.get('faceLibType') ?? undefined, req.query.get('FDID') ?? undefined)
  if (bad) return bad
  const parsed = parseJsonObject(req.body)
  if ('reply' in parsed) return parsed.reply
  const list = parsed.value.FPID
  if (list === undefined) return parametersLack('FPID')
  if (!Array.isArray(list) || list.length === 0) return badJsonContent('FPID')
  const ids: string[] = []
  for (const item of list) {
    if (!isObject(item) || typeof item.value !== 'string' || item.value.length === 0) return badJsonContent('FPID')
    ids.push(item.value)
  }
  for (const id of ids) removeFace(ctx.state, id)
  return okJson()
}

/** Enrolled faces and event pictures, fetched with Digest like any other device URL. */
function picture (req: IsapiRequest, ctx: SimContext): Reply {
  const bytes = ctx.state.pictures.get(req.path)
  if (!bytes) return notSupportXml(req.path)
  return { status: 200, kind: 'binary', contentType: 'image/jpeg', body: bytes }
}

const base = '/ISAPI/Intelligent/FDLib'

export const faceRoutes: Route[] = [
  { path: `${base}/FaceDataRecord`, json: true, methods: { POST: (req, ctx) => saveFace(req, ctx, false) } },
  { path: `${base}/FDSetUp`, json: true, methods: { PUT: (req, ctx) => saveFace(req, ctx, true) } },
  { path: `${base}/FDSearch`, json: true, methods: { POST: search } },
  { path: `${base}/FDSearch/Delete`, json: true, methods: { PUT: deleteFaces } },
  { path: /^\/LOCALS\/pic\//, json: false, methods: { GET: picture } },
]
