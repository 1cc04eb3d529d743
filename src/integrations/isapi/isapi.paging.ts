import { z } from 'zod'
import { asArray, zInt, zStr } from './isapi.decode.js'
import { IsapiError } from './isapi.errors.js'

/** Hikvision search pages hold at most 30 records whatever maxResults asks for. */
export const MAX_PAGE_SIZE = 30

export const searchStatusSchema = z.string().transform((s) => {
  const v = s.trim().toUpperCase().replace(/_/g, ' ')
  return v === 'MORE' || v === 'OK' || v === 'NO MATCH' ? v : s
})
export type SearchStatus = 'OK' | 'MORE' | 'NO MATCH' | (string & {})

export interface SearchPage<T> {
  searchId: string
  status: SearchStatus
  numOfMatches: number
  totalMatches: number
  items: T[]
}

/**
 * A search answer: `{ Root: { searchID, responseStatusStrg, numOfMatches, totalMatches, List? } }`
 * (flat when `root` is undefined, as FDSearch answers). The list is absent on NO MATCH.
 */
export function searchPageSchema<T> (root: string | undefined, listKey: string, item: z.ZodType<T>) {
  return z.record(z.string(), z.unknown())
    .transform((d) => (root ? d[root] : d))
    .pipe(z.looseObject({ searchID: zStr.optional(), responseStatusStrg: searchStatusSchema, numOfMatches: zInt, totalMatches: zInt }))
    .transform((p): SearchPage<T> => ({
      searchId: p.searchID ?? '',
      status: p.responseStatusStrg,
      numOfMatches: p.numOfMatches,
      totalMatches: p.totalMatches,
      items: asArray(p[listKey] as unknown).map((v) => item.parse(v)),
    }))
}

export const clampPageSize = (n: number | undefined) => Math.max(1, Math.min(MAX_PAGE_SIZE, Math.trunc(n ?? MAX_PAGE_SIZE)))

/**
 * Walks a search to the end: same searchID throughout, position advanced by the numOfMatches
 * actually returned (devices clamp maxResults silently), stop on anything but MORE.
 */
export async function * scanPages<T> (
  ctx: { deviceKey: string, operation: string },
  fetchPage: (position: number) => Promise<SearchPage<T>>
): AsyncGenerator<T> {
  let position = 0
  for (;;) {
    const page = await fetchPage(position)
    yield * page.items
    if (page.status !== 'MORE') return
    if (page.numOfMatches <= 0) {
      throw new IsapiError('DEVICE_BAD_RESPONSE', `${ctx.operation}: device said MORE but returned no records at position ${position}`, ctx)
    }
    position += page.numOfMatches
  }
}

export async function collect<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

export function chunk<T> (items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
