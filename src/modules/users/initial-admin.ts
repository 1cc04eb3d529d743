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
  const hasSuperAdmin = async () => await db.user.count({ where: { role: 'SUPER_ADMIN', deletedAt: null } }) > 0
  if (await hasSuperAdmin()) return null
  const password = config.ADMIN_PASSWORD ?? randomBytes(12).toString('base64url')
  const email = config.ADMIN_EMAIL.toLowerCase()
  let user
  try {
    user = await db.user.create({ data: { email, name: 'Administrator', role: 'SUPER_ADMIN', passwordHash: await hashPassword(password) } })
  } catch (err) {
    if (!isUniqueConstraintError(err)) throw err
    // Another process starting at the same moment created it first.
    if (await hasSuperAdmin()) return null
    throw new Error(`Cannot create the initial super admin: ADMIN_EMAIL ${email} already belongs to another user; set ADMIN_EMAIL to a free address`)
  }
  log.info({ email }, 'created the initial super admin')
  if (!config.ADMIN_PASSWORD) {
    print(`\n  Initial super admin created.\n    email:    ${email}\n    password: ${password}\n  This password is shown only once: sign in and change it.\n\n`)
  }
  return user
}
