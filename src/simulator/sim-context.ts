import type { IncomingHttpHeaders } from 'node:http'
import type { Reply } from './responses.js'
import { badJsonFormat } from './responses.js'
import type { SimState } from './sim-state.js'

export interface SimConfig {
  supportsSetUp: boolean
  supportsModify: boolean
  maxFaceBytes: number
  seed: number
  pushTimeoutMs: number
  faceDownloadTimeoutMs: number
  requestLogLimit: number
}

export interface SimContext {
  state: SimState
  config: SimConfig
  now: () => number
  /** http://host:port of this terminal, used in faceURL / pictureURL. */
  selfOrigin: () => string
}

export interface IsapiRequest {
  method: string
  /** Raw path + query exactly as received (what the Digest uri must equal). */
  url: string
  path: string
  query: URLSearchParams
  isJson: boolean
  headers: IncomingHttpHeaders
  body: Buffer
  remoteAddress: string
}

export type Handler = (req: IsapiRequest, ctx: SimContext) => Reply | Promise<Reply>

export type JsonObject = Record<string, unknown>

export function isObject (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A body that is not one JSON object is badJsonFormat (statusCode 5), as the device answers. */
export function parseJsonObject (body: Buffer): { value: JsonObject } | { reply: Reply } {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    return isObject(value) ? { value } : { reply: badJsonFormat() }
  } catch {
    return { reply: badJsonFormat() }
  }
}
