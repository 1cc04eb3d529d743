import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { adminQuery, withDatabase } from '../global-setup.js'

/** A fresh, migrated database for one test file, dropped by the returned function. */
export async function createTestDatabase () {
  const adminUrl = inject('adminDatabaseUrl')
  const name = `facegate_test_${randomBytes(6).toString('hex')}`
  await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${inject('templateDatabase')}"`)
  return {
    url: withDatabase(adminUrl, name),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  }
}
