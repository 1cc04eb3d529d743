import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { PrismaClient, User } from '../../generated/prisma/client.js'
import type { Config } from '../../config.js'
import type { ActorContext } from '../../lib/context.js'
import { withTransaction } from '../../lib/db.js'
import { AppError, unauthorized } from '../../lib/errors.js'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../lib/password.js'
import { recordAudit } from '../audit/audit.repository.js'
import { toUserDto } from '../users/users.service.js'

type SignAccess = (payload: { sub: string, role: User['role'], schoolId: string | null, tv: number, sid: string, typ: 'access' }) => string

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')
const invalidRefresh = () => unauthorized('The refresh token is invalid, expired or revoked', 'INVALID_REFRESH_TOKEN')

export function createAuthService ({ db, config, signAccess }: { db: PrismaClient, config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS' | 'REFRESH_TOKEN_TTL_DAYS'>, signAccess: SignAccess }) {
  async function issueTokens (user: User, familyId: string = randomUUID()) {
    const refreshToken = randomBytes(32).toString('base64url')
    await db.refreshToken.create({
      data: { userId: user.id, familyId, tokenHash: hashToken(refreshToken), expiresAt: new Date(Date.now() + config.REFRESH_TOKEN_TTL_DAYS * 86_400_000) },
    })
    const accessToken = signAccess({ sub: user.id, role: user.role, schoolId: user.schoolId, tv: user.tokenVersion, sid: familyId, typ: 'access' })
    return { accessToken, refreshToken, expiresIn: config.ACCESS_TOKEN_TTL_SECONDS, user: toUserDto(user) }
  }

  const revokeFamily = (familyId: string) =>
    db.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } })

  return {
    async login (email: string, password: string) {
      const user = await db.user.findFirst({ where: { email, deletedAt: null } })
      const ok = await verifyPassword(user?.passwordHash ?? await dummyPasswordHash(), password)
      if (!user || !ok) throw unauthorized('Wrong email or password', 'INVALID_CREDENTIALS')
      return issueTokens(user)
    },

    /**
     * Rotates a refresh token. Presenting one that was already rotated means
     * it was stolen or replayed, so its whole family is revoked.
     */
    async refresh (refreshToken: string) {
      const row = await db.refreshToken.findUnique({ where: { tokenHash: hashToken(refreshToken) }, include: { user: true } })
      if (!row || row.revokedAt || row.expiresAt <= new Date() || row.user.deletedAt) throw invalidRefresh()
      const claimed = await db.refreshToken.updateMany({ where: { id: row.id, rotatedAt: null, revokedAt: null }, data: { rotatedAt: new Date() } })
      if (claimed.count === 0) {
        await revokeFamily(row.familyId)
        throw unauthorized('This refresh token was already used; the session has been revoked', 'REFRESH_TOKEN_REUSED')
      }
      return issueTokens(row.user, row.familyId)
    },

    async logout (userId: string, sessionId: string | undefined, refreshToken?: string) {
      if (refreshToken) {
        const row = await db.refreshToken.findUnique({ where: { tokenHash: hashToken(refreshToken) } })
        if (row?.userId === userId) await revokeFamily(row.familyId)
      }
      if (sessionId) await revokeFamily(sessionId)
    },

    async me (userId: string) {
      const user = await db.user.findFirstOrThrow({ where: { id: userId }, include: { teacherClasses: { select: { classId: true } } } })
      return { ...toUserDto(user), classIds: user.teacherClasses.map((t) => t.classId).sort() }
    },

    /** Changing the password signs the user out everywhere and starts a new session here. */
    async changePassword (ctx: ActorContext, currentPassword: string, newPassword: string) {
      const user = await db.user.findFirstOrThrow({ where: { id: ctx.actor.id, deletedAt: null } })
      if (!await verifyPassword(user.passwordHash, currentPassword)) {
        throw new AppError(400, 'WRONG_PASSWORD', 'The current password is wrong')
      }
      const passwordHash = await hashPassword(newPassword)
      const updated = await withTransaction(db, async (tx) => {
        const after = await tx.user.update({ where: { id: user.id }, data: { passwordHash, tokenVersion: { increment: 1 } } })
        await tx.refreshToken.updateMany({ where: { userId: user.id, revokedAt: null }, data: { revokedAt: new Date() } })
        await recordAudit(tx, ctx, { action: 'change_password', entity: 'user', entityId: user.id, schoolId: user.schoolId, before: { password: 'old' }, after: { password: 'new' } })
        return after
      })
      return issueTokens(updated)
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
