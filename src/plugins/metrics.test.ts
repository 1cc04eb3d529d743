import { describe, expect, it } from 'vitest'
import { buildTestApp } from '../../test/helpers/build-test-app.js'
import { expectProblem } from '../../test/helpers/problem.js'

describe('GET /metrics with METRICS_TOKEN', () => {
  it('answers only the bearer of the token', async () => {
    const app = await buildTestApp({ METRICS_TOKEN: 'scrape-token-0123456789' })
    expectProblem(await app.inject({ method: 'GET', url: '/metrics' }), 401, 'METRICS_TOKEN_REQUIRED')
    expectProblem(await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-token-012345678X' } }), 401, 'METRICS_TOKEN_REQUIRED')
    const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-token-0123456789' } })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toContain('process_cpu_user_seconds_total')
  })
})
