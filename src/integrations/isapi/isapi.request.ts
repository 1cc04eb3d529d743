import type { z } from 'zod'
import type { HttpMethod, IsapiHttpRequest, IsapiHttpResponse } from './isapi.auth.js'
import { buildXml, decodeBody, isOkAnswer, readResponseStatus, type DecodedBody } from './isapi.decode.js'
import { IsapiError, deviceAnswerError, type DeviceStatusInfo } from './isapi.errors.js'
import type { IsapiTransport } from './isapi.transport.js'

export type RequestBody = NonNullable<IsapiHttpRequest['body']>

export const jsonBody = (value: unknown): RequestBody => () => ({
  bytes: Buffer.from(JSON.stringify(value), 'utf8'), contentType: 'application/json',
})

export const xmlBody = (root: string, content: () => Record<string, unknown>): RequestBody => () => ({
  bytes: Buffer.from(buildXml(root, content()), 'utf8'), contentType: 'application/xml',
})

export interface IsapiCall {
  operation: string
  method: HttpMethod
  path: string
  body?: RequestBody
  timeoutMs: number
}

function decodeOrThrow (ctx: { deviceKey: string, operation: string }, res: IsapiHttpResponse): DecodedBody {
  try {
    return decodeBody(res.body)
  } catch (err) {
    if (res.status < 200 || res.status >= 300) throw deviceAnswerError(ctx, res.status)
    throw new IsapiError('DEVICE_BAD_RESPONSE', `${ctx.operation}: body is neither valid JSON nor XML`, { ...ctx, httpStatus: res.status, cause: err })
  }
}

/** Decodes the body and throws the mapped IsapiError unless the answer is OK (HTTP and ResponseStatus). */
export function checkAnswer (ctx: { deviceKey: string, operation: string }, res: IsapiHttpResponse) {
  const decoded = decodeOrThrow(ctx, res)
  const status = readResponseStatus(decoded)
  if (!isOkAnswer(res.status, status)) throw deviceAnswerError(ctx, res.status, status)
  return { decoded, status }
}

export type IsapiRequester = ReturnType<typeof createRequester>

/** Typed request helpers over one device transport. */
export function createRequester (t: IsapiTransport) {
  const ctxOf = (c: IsapiCall) => ({ deviceKey: t.deviceKey, operation: c.operation })
  return {
    deviceKey: t.deviceKey,
    /** A document answer parsed through `schema` (applied to the decoded JSON object or XML document). */
    doc<S extends z.ZodType> (c: IsapiCall, schema: S): Promise<z.output<S>> {
      return t.call(c, (res) => {
        const { decoded } = checkAnswer(ctxOf(c), res)
        if (decoded.kind !== 'json' && decoded.kind !== 'xml') {
          throw new IsapiError('DEVICE_BAD_RESPONSE', `${c.operation}: expected a JSON or XML document`, { ...ctxOf(c), httpStatus: res.status })
        }
        return schema.parse(decoded.value)
      })
    },
    /** A write whose answer is a ResponseStatus (or empty). */
    ok (c: IsapiCall): Promise<DeviceStatusInfo | undefined> {
      return t.call(c, (res) => checkAnswer(ctxOf(c), res).status)
    },
    /** Raw bytes (face images); a JSON/XML body instead is treated as the device's error answer. */
    bytes (c: IsapiCall): Promise<{ bytes: Buffer, contentType?: string }> {
      return t.call(c, (res) => {
        const first = res.body.subarray(0, 64).toString('latin1').trimStart()[0]
        if (res.status < 200 || res.status >= 300 || first === '{' || first === '<') {
          checkAnswer(ctxOf(c), res)
          throw new IsapiError('DEVICE_BAD_RESPONSE', `${c.operation}: expected binary content`, { ...ctxOf(c), httpStatus: res.status })
        }
        const type = res.headers['content-type']
        return { bytes: res.body, contentType: Array.isArray(type) ? type[0] : type }
      })
    },
  }
}

/** Per-operation budgets (ms) for one HTTP exchange; deletes and bulk calls get the long ones. */
export interface IsapiTimeouts {
  defaultMs: number
  searchMs: number
  writeMs: number
  faceMs: number
  downloadMs: number
  deleteMs: number
  bulkMs: number
}

export const DEFAULT_ISAPI_TIMEOUTS: IsapiTimeouts = {
  defaultMs: 15_000,
  searchMs: 20_000,
  writeMs: 20_000,
  faceMs: 30_000,
  downloadMs: 30_000,
  deleteMs: 60_000,
  bulkMs: 120_000,
}

export const localError = (deviceKey: string, operation: string, message: string) =>
  new IsapiError('INVALID_ARGUMENT', `${operation}: ${message}`, { deviceKey, operation, local: true })
