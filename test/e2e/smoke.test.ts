import { describe, expect, it } from 'vitest'
import { buildTestApp } from '../helpers/build-test-app.js'
import { signedInAs } from '../factories/index.js'

describe('smoke', () => {
  it('lets a super admin list schools', async () => {
    const app = await buildTestApp()
    const { headers } = await signedInAs(app, 'SUPER_ADMIN', null)
    const res = await app.inject({ method: 'GET', url: '/api/v1/schools', headers })
    expect(res.json()).toEqual({ items: [], page: 1, pageSize: 50, total: 0 })
  })
})
