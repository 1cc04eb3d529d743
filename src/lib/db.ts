import { Prisma, type PrismaClient } from '../generated/prisma/client.js'

export type DbClient = PrismaClient | Prisma.TransactionClient

const RETRYABLE = new Set(['P2034', 'P2028', 'P2024'])

/**
 * Runs fn in a transaction, reusing an outer one when given one, and retries
 * serialization failures and pool timeouts.
 */
export async function withTransaction<T> (
  db: DbClient,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
  { maxRetries = 3 }: { maxRetries?: number } = {}
): Promise<T> {
  if (!('$transaction' in db)) return fn(db)
  const client = db as PrismaClient
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.$transaction(fn)
    } catch (err) {
      if (attempt >= maxRetries || !isPrismaError(err, ...RETRYABLE)) throw err
    }
  }
}

export function isPrismaError (err: unknown, ...codes: string[]): err is Prisma.PrismaClientKnownRequestError {
  return err instanceof Prisma.PrismaClientKnownRequestError && (codes.length === 0 || codes.includes(err.code))
}

/** True for a unique violation, optionally only on a constraint that covers one of the given columns. */
export function isUniqueConstraintError (err: unknown, columns?: string[]): boolean {
  if (!isPrismaError(err, 'P2002')) return false
  if (!columns) return true
  const target = uniqueTarget(err)
  return columns.some((c) => target.some((t) => t === c || t.includes(c)))
}

function uniqueTarget (err: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = err.meta as { target?: unknown, driverAdapterError?: { cause?: { constraint?: { fields?: string[], index?: string } } } } | undefined
  if (Array.isArray(meta?.target)) return meta.target.map(String)
  if (typeof meta?.target === 'string') return [meta.target]
  const constraint = meta?.driverAdapterError?.cause?.constraint
  return [...(constraint?.fields ?? []), ...(constraint?.index ? [constraint.index] : [])].map((s) => s.replaceAll('"', ''))
}
