import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { PrismaClient } from '../../generated/prisma/client.js'
import type { Config } from '../../config.js'
import { hashPassword } from '../../lib/password.js'
import { isUniqueConstraintError } from '../../lib/db.js'

/**
 * On the very first start (no super admin yet) creates one from ADMIN_EMAIL /
 * ADMIN_PASSWORD, or with a generated password that is printed this once.
 */
export async function ensureInitialAdmin (db: PrismaClient, config: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>, log: FastifyBaseLogger, print = (s: string) => process.stdout.write(s)) {
  const existing = await db.user.count({ where: { role: 'SUPER_ADMIN', deletedAt: null } })
  if (existing > 0) return null
  const password = config.ADMIN_PASSWORD ?? randomBytes(12).toString('base64url')
  const email = config.ADMIN_EMAIL.toLowerCase()
  let user
  try {
    user = await db.user.create({ data: { email, name: 'Administrator', role: 'SUPER_ADMIN', passwordHash: await hashPassword(password) } })
  } catch (err) {
    // Another process starting at the same moment created it first.
    if (isUniqueConstraintError(err)) return null
    throw err
  }
  log.info({ email }, 'created the initial super admin')
  if (!config.ADMIN_PASSWORD) {
    print(`\n  Initial super admin created.\n    email:    ${email}\n    password: ${password}\n  This password is shown only once: sign in and change it.\n\n`)
  }
  return user
}
