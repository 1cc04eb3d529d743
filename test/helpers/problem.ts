import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/** Asserts an application/problem+json error with this status and code, echoing the request id. */
export function expectProblem (res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json()
  expect(body.code).toBe(code)
  expect(body.status).toBe(status)
  expect(typeof body.requestId).toBe('string')
  expect(body.requestId).toBe(res.headers['x-request-id'])
  return body
}

/** Asserts a 400 VALIDATION_FAILED whose errors name the field. */
export function expectValidation (res: LightMyRequestResponse, field: string) {
  const body = expectProblem(res, 400, 'VALIDATION_FAILED')
  expect(body.errors.map((e: { field: string }) => e.field)).toContain(field)
  return body
}
