import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod'
import { AppError } from '../lib/errors.js'
import { isPrismaError } from '../lib/db.js'
import { IsapiError, type IsapiErrorCode } from '../integrations/isapi/index.js'

interface Problem {
  status: number
  code: string
  title: string
  detail?: string
  errors?: Array<{ field: string, message: string }>
  [key: string]: unknown
}

export function sendProblem (request: FastifyRequest, reply: FastifyReply, problem: Problem) {
  return reply
    .status(problem.status)
    .type('application/problem+json')
    .send({ type: 'about:blank', ...problem, requestId: request.id })
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 423: 'Locked',
  413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
}
const title = (status: number) => STATUS_TITLES[status] ?? 'Error'

// A terminal's answer as our answer: device faults are gateway errors; its verdicts on our request keep their meaning.
const ISAPI_PROBLEMS: Record<IsapiErrorCode, { status: number, code: string }> = {
  DEVICE_AUTH_FAILED: { status: 502, code: 'DEVICE_AUTH_FAILED' },
  DEVICE_LOCKED: { status: 423, code: 'DEVICE_LOCKED' },
  DEVICE_UNREACHABLE: { status: 502, code: 'DEVICE_UNREACHABLE' },
  DEVICE_TIMEOUT: { status: 504, code: 'DEVICE_TIMEOUT' },
  DEVICE_BUSY: { status: 503, code: 'DEVICE_BUSY' },
  DEVICE_BAD_RESPONSE: { status: 502, code: 'DEVICE_BAD_RESPONSE' },
  DEVICE_NOT_SUPPORTED: { status: 422, code: 'DEVICE_NOT_SUPPORTED' },
  DEVICE_REJECTED: { status: 422, code: 'DEVICE_REJECTED' },
  USER_EXISTS: { status: 409, code: 'DEVICE_USER_EXISTS' },
  USER_NOT_FOUND: { status: 404, code: 'DEVICE_USER_NOT_FOUND' },
  FACE_EXISTS: { status: 409, code: 'DEVICE_FACE_EXISTS' },
  FACE_REJECTED: { status: 422, code: 'DEVICE_FACE_REJECTED' },
  INVALID_ARGUMENT: { status: 400, code: 'DEVICE_INVALID_ARGUMENT' },
}

function isapiProblem (err: IsapiError): Problem {
  const { status, code } = ISAPI_PROBLEMS[err.code]
  return {
    status, code, title: title(status), detail: err.message,
    ...(err.unlockAt && { unlockAt: err.unlockAt.toISOString() }),
    ...(err.subStatusCode && { deviceSubStatusCode: err.subStatusCode }),
    ...(err.errorMsg && { deviceErrorMsg: err.errorMsg }),
  }
}

function toProblem (err: FastifyError | AppError | Error): Problem {
  if (err instanceof IsapiError) return isapiProblem(err)
  if (err instanceof AppError) {
    return { status: err.statusCode, code: err.code, title: title(err.statusCode), detail: err.message, ...err.extra }
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((v) => ({
      field: v.instancePath.replace(/^\//, '').replaceAll('/', '.'),
      message: v.message ?? 'is invalid',
    }))
    const where = err.validationContext ?? 'request'
    return { status: 400, code: 'VALIDATION_FAILED', title: title(400), detail: `Invalid ${where}: ${errors.map((e) => e.field || where).join(', ')}`, errors }
  }
  if (isPrismaError(err, 'P2025')) return { status: 404, code: 'NOT_FOUND', title: title(404), detail: 'Record not found' }
  if (isPrismaError(err, 'P2002')) return { status: 409, code: 'CONFLICT', title: title(409), detail: 'A record with these values already exists' }
  const fastifyErr = err as FastifyError
  const status = fastifyErr.statusCode ?? 500
  if (status >= 400 && status < 500 && !isResponseSerializationError(err)) {
    const code = fastifyErr.code?.startsWith('FST_') ? fastifyCode(fastifyErr.code) : (fastifyErr.code ?? 'BAD_REQUEST')
    return { status, code, title: title(status), detail: err.message }
  }
  return { status: 500, code: 'INTERNAL_ERROR', title: title(500), detail: 'Something went wrong' }
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_REQ_FILE_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
}
const fastifyCode = (code: string) => FASTIFY_CODES[code] ?? (code.includes('JSON') ? 'INVALID_JSON' : 'BAD_REQUEST')

export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const problem = toProblem(err)
    if (problem.status >= 500 && !(err instanceof IsapiError)) request.log.error({ err }, 'request failed')
    else request.log.info({ code: problem.code, status: problem.status }, problem.detail ?? problem.title)
    return sendProblem(request, reply, problem)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, { status: 404, code: 'ROUTE_NOT_FOUND', title: title(404), detail: `No route ${request.method} ${request.url.split('?')[0]}` }))
}, { name: 'error-handler' })
