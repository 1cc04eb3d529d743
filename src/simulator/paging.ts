import { badJsonContent, parametersLack } from './responses.js'
import type { Reply } from './responses.js'
import type { JsonObject } from './sim-context.js'

/** Every search endpoint of the caps files allows at most 30 results per page. */
export const MAX_RESULTS = 30

export interface PageRequest { position: number, maxResults: number }

/** searchResultPosition and maxResults are required; maxResults above the cap is clamped silently. */
export function readPaging (cond: JsonObject): { page: PageRequest } | { reply: Reply } {
  if (cond.searchResultPosition === undefined) return { reply: parametersLack('searchResultPosition') }
  if (cond.maxResults === undefined) return { reply: parametersLack('maxResults') }
  const position = cond.searchResultPosition
  const max = cond.maxResults
  if (!Number.isInteger(position) || (position as number) < 0) return { reply: badJsonContent('searchResultPosition') }
  if (!Number.isInteger(max) || (max as number) < 1) return { reply: badJsonContent('maxResults') }
  return { page: { position: position as number, maxResults: Math.min(max as number, MAX_RESULTS) } }
}

export interface PageResult<T> {
  responseStatusStrg: 'OK' | 'MORE' | 'NO MATCH'
  numOfMatches: number
  totalMatches: number
  items: T[]
}

export function takePage<T> (all: T[], page: PageRequest): PageResult<T> {
  const items = all.slice(page.position, page.position + page.maxResults)
  const status = items.length === 0 ? 'NO MATCH' : page.position + items.length < all.length ? 'MORE' : 'OK'
  return { responseStatusStrg: status, numOfMatches: items.length, totalMatches: all.length, items }
}
