/**
 * Prints JSON exactly like cJSON_Print, the library the terminals use: tab
 * indentation, a TAB after each colon, LF line ends, array items joined by
 * ", " on one line, no trailing newline. Key order is insertion order.
 */
export function printCJson (value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (Array.isArray(value)) return `[${value.map((v) => printCJson(v, depth + 1)).join(', ')}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  const inner = '\t'.repeat(depth + 1)
  const members = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}:\t${printCJson(v, depth + 1)}`)
  return `{\n${members.join(',\n')}${members.length ? '\n' : ''}${'\t'.repeat(depth)}}`
}
