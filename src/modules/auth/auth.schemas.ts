import { z } from 'zod'
import { email, password, userSchema } from '../users/users.schemas.js'

export const loginBody = z.object({ email, password: z.string().min(1).max(200) })
export const refreshBody = z.object({ refreshToken: z.string().min(20).max(200) })
// A body-less POST arrives as null: treat it as {}.
export const logoutBody = z.object({ refreshToken: z.string().min(20).max(200).optional() }).nullish().transform((body) => body ?? {})
export const changePasswordBody = z.object({ currentPassword: z.string().min(1).max(200), newPassword: password })

export const meSchema = userSchema.extend({ classIds: z.array(z.uuid()).describe('Classes assigned (teachers only)') })

export const tokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe('Access token lifetime in seconds'),
  user: userSchema,
}).meta({ id: 'TokenPair' })
