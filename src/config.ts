import { z } from 'zod'

const bool = z.enum(['true', 'false']).transform((v) => v === 'true')

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_BASE_URL: z.url().optional(),
  ADMIN_EMAIL: z.email().default('admin@facegate.local'),
  ADMIN_PASSWORD: z.string().min(12).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.optional(),
  DOCS_ENABLED: bool.default(true),
  TRUST_PROXY: bool.default(false),
  CORS_ORIGINS: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  JWT_SECRET: z.string().min(32).optional(),
  MEDIA_SIGNING_SECRET: z.string().min(32).optional(),
  CREDENTIALS_KEY: z.string().refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 random bytes in base64 (openssl rand -base64 32)').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  PHOTO_URL_TTL_SECONDS: z.coerce.number().int().min(30).max(7 * 86_400).default(3600),
  LOGIN_MAX_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  LOGIN_MAX_PER_EMAIL_PER_15_MINUTES: z.coerce.number().int().min(1).default(10),
  UPLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(15 * 1024 * 1024),
  METRICS_TOKEN: z.string().min(16).optional(),
  ISAPI_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  SYNC_WORKERS_ENABLED: bool.default(true),
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  SYNC_PACING_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  SYNC_SLICE_SECONDS: z.coerce.number().min(0.1).max(600).default(15),
  SYNC_TASK_EXPIRE_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
  SYNC_MAINTENANCE_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
  SYNC_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(0.5),
  FACE_UPLOAD_MODE: z.enum(['bytes', 'url']).default('bytes'),
  SYNC_WAIT_SECONDS: z.coerce.number().min(0.1).max(300).default(30),
  SYNC_TRANSIENT_BACKOFF_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  SYNC_AUTO_RETRY_SECONDS: z.coerce.number().min(0).max(86_400).default(300),
  SYNC_AUTO_RETRY_MAX: z.coerce.number().int().min(0).max(20).default(5),
  WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  WEBHOOK_RAW_MAX_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  EVENT_PICTURES: bool.default(false),
  EVENT_PICTURE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  ATTENDANCE_ABSENT_SWEEP_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  ATTENDANCE_REPEAT_SCAN_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  ATTENDANCE_BACKFILL_MINUTES: z.coerce.number().min(0).max(1440).default(5),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
})

export type ConfigInput = z.input<typeof configSchema>

/** The resolved configuration: secrets are present (from env, or generated under DATA_DIR). */
export type Config = Readonly<Omit<z.output<typeof configSchema>, 'JWT_SECRET' | 'MEDIA_SIGNING_SECRET' | 'CREDENTIALS_KEY' | 'DATABASE_URL' | 'PUBLIC_BASE_URL'> & {
  JWT_SECRET: string
  MEDIA_SIGNING_SECRET: string
  CREDENTIALS_KEY: string
  DATABASE_URL: string
  PUBLIC_BASE_URL: string
}>

export class ConfigError extends Error {
  constructor (readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`)
  }
}

export function parseEnv (env: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const result = configSchema.safeParse(cleaned)
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))
  }
  const { SYNC_SLICE_SECONDS: slice, SYNC_TASK_EXPIRE_SECONDS: expire } = result.data
  // A share still working when its pg-boss job expires gets scheduled twice (harmless under the lock, but churn).
  if (expire < 2 * slice + 1) throw new ConfigError([`SYNC_TASK_EXPIRE_SECONDS (${expire}) must be at least 2 × SYNC_SLICE_SECONDS + 1 (${2 * slice + 1})`])
  return result.data
}
