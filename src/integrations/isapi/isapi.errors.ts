/** Stable codes callers can switch on; they never change meaning between releases. */
export const ISAPI_ERROR_CODES = [
  'DEVICE_AUTH_FAILED',
  'DEVICE_LOCKED',
  'DEVICE_UNREACHABLE',
  'DEVICE_TIMEOUT',
  'DEVICE_BUSY',
  'DEVICE_NOT_SUPPORTED',
  'DEVICE_REJECTED',
  'DEVICE_BAD_RESPONSE',
  'USER_EXISTS',
  'USER_NOT_FOUND',
  'FACE_EXISTS',
  'FACE_REJECTED',
  'INVALID_ARGUMENT',
] as const

export type IsapiErrorCode = typeof ISAPI_ERROR_CODES[number]

export interface IsapiErrorDetails {
  deviceKey: string
  operation: string
  httpStatus?: number
  statusCode?: number
  subStatusCode?: string
  errorMsg?: string
  unlockAt?: Date
  retryLoginTime?: number
  /** True when the client refused locally and nothing was sent to the device. */
  local?: boolean
  cause?: unknown
}

export class IsapiError extends Error {
  readonly code: IsapiErrorCode
  readonly deviceKey: string
  readonly operation: string
  readonly httpStatus?: number
  readonly statusCode?: number
  readonly subStatusCode?: string
  readonly errorMsg?: string
  readonly unlockAt?: Date
  readonly retryLoginTime?: number
  readonly local: boolean

  constructor (code: IsapiErrorCode, message: string, details: IsapiErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'IsapiError'
    this.code = code
    this.deviceKey = details.deviceKey
    this.operation = details.operation
    this.httpStatus = details.httpStatus
    this.statusCode = details.statusCode
    this.subStatusCode = details.subStatusCode
    this.errorMsg = details.errorMsg
    this.unlockAt = details.unlockAt
    this.retryLoginTime = details.retryLoginTime
    this.local = details.local ?? false
  }
}

export const isIsapiError = (err: unknown, code?: IsapiErrorCode): err is IsapiError =>
  err instanceof IsapiError && (code === undefined || err.code === code)

export interface DeviceStatusInfo {
  statusCode?: number
  statusString?: string
  subStatusCode?: string
  errorCode?: number
  errorMsg?: string
}

const SUB_STATUS_CODES: Record<string, IsapiErrorCode> = {
  employeeNoAlreadyExist: 'USER_EXISTS',
  employeeNoNotExist: 'USER_NOT_FOUND',
  userNotExist: 'USER_NOT_FOUND',
  deviceUserAlreadyExistFace: 'FACE_EXISTS',
  faceDataExist: 'FACE_EXISTS',
  duplicateFace: 'FACE_EXISTS',
  noFaceDetected: 'FACE_REJECTED',
  faceQualityTooLow: 'FACE_REJECTED',
  SubpicAnalysisModelingError: 'FACE_REJECTED',
  modelingFailed: 'FACE_REJECTED',
  urlDownloadFail: 'FACE_REJECTED',
  faceNumFull: 'FACE_REJECTED',
  faceNumOverLimit: 'FACE_REJECTED',
  pictureTooLarge: 'FACE_REJECTED',
  deviceBusy: 'DEVICE_BUSY',
  notSupport: 'DEVICE_NOT_SUPPORTED',
  methodNotAllowed: 'DEVICE_NOT_SUPPORTED',
}

function codeForDeviceAnswer (httpStatus: number, status: DeviceStatusInfo | undefined): IsapiErrorCode {
  const bySub = status?.subStatusCode ? SUB_STATUS_CODES[status.subStatusCode] : undefined
  if (bySub) return bySub
  if (status?.statusCode === 2 || httpStatus === 503) return 'DEVICE_BUSY'
  if (status?.statusCode === 4 && !status.subStatusCode) return 'DEVICE_NOT_SUPPORTED'
  if (httpStatus === 404 || httpStatus === 405 || httpStatus === 501) return 'DEVICE_NOT_SUPPORTED'
  if (httpStatus === 401) return 'DEVICE_AUTH_FAILED'
  return 'DEVICE_REJECTED'
}

/** Maps a device's non-OK answer (HTTP status plus any ResponseStatus body) to a typed error. */
export function deviceAnswerError (ctx: { deviceKey: string, operation: string }, httpStatus: number, status?: DeviceStatusInfo) {
  const code = codeForDeviceAnswer(httpStatus, status)
  const detail = [status?.statusString, status?.subStatusCode, status?.errorMsg].filter(Boolean).join(' / ')
  const message = `${ctx.operation}: device answered HTTP ${httpStatus}${detail ? ` (${detail})` : ''}`
  return new IsapiError(code, message, {
    ...ctx, httpStatus, statusCode: status?.statusCode, subStatusCode: status?.subStatusCode, errorMsg: status?.errorMsg,
  })
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
  // A connect timeout means the request never reached the device, unlike a headers/body timeout.
  'UND_ERR_CONNECT_TIMEOUT',
])
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED'])

function errnoOf (err: unknown): string | undefined {
  let cur: unknown = err
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'UND_ERR_CONNECT') return code
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}

/** Maps an undici/socket/TLS failure to DEVICE_TIMEOUT or DEVICE_UNREACHABLE. */
export function transportError (ctx: { deviceKey: string, operation: string }, err: unknown, timedOut: boolean) {
  const code = errnoOf(err)
  const why = err instanceof Error ? err.message : String(err)
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new IsapiError('DEVICE_UNREACHABLE', `${ctx.operation}: connect timeout`, { ...ctx, cause: err })
  }
  if (timedOut || (code && TIMEOUT_CODES.has(code))) {
    return new IsapiError('DEVICE_TIMEOUT', `${ctx.operation}: device did not answer in time`, { ...ctx, cause: err })
  }
  if ((code && UNREACHABLE_CODES.has(code)) || /CERT|TLS|SSL/i.test(code ?? '')) {
    return new IsapiError('DEVICE_UNREACHABLE', `${ctx.operation}: ${code ?? 'connection failed'} (${why})`, { ...ctx, cause: err })
  }
  return new IsapiError('DEVICE_UNREACHABLE', `${ctx.operation}: ${why}`, { ...ctx, cause: err })
}
