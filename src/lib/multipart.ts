/** One part of a multipart body: its headers (lower-case names) and its bytes. */
export interface MultipartPart { headers: Record<string, string>, body: Buffer }

export class MultipartError extends Error {}

const CRLF2 = Buffer.from('\r\n\r\n')

function parseHeaders (raw: string) {
  const headers: Record<string, string> = {}
  for (const line of raw.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return headers
}

/**
 * Splits multipart by each part's own Content-Length when it has one (JPEG bytes may contain
 * anything), else up to the next boundary line. A missing closing boundary is a truncated body.
 */
export function splitMultipart (body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: MultipartPart[] = []
  let pos = body.indexOf(delimiter)
  if (pos < 0) throw new MultipartError('multipart body without its boundary')
  for (;;) {
    pos += delimiter.length
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') return parts
    if (body.subarray(pos, pos + 2).toString('latin1') === '\r\n') pos += 2
    const headerEnd = body.indexOf(CRLF2, pos)
    if (headerEnd < 0) throw new MultipartError('truncated multipart body (part headers never end)')
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString('latin1'))
    const start = headerEnd + 4
    const declared = Number(headers['content-length'])
    let end: number
    if (Number.isInteger(declared) && declared >= 0 && body.indexOf(delimiter, start + declared) === start + declared + 2) {
      end = start + declared
    } else {
      const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start)
      if (next < 0) throw new MultipartError('truncated multipart body (no closing boundary)')
      end = next
    }
    parts.push({ headers, body: body.subarray(start, end) })
    pos = body.indexOf(delimiter, end)
    if (pos < 0) throw new MultipartError('truncated multipart body (no closing boundary)')
  }
}
