export interface MultipartPart {
  headers: Record<string, string>
  name?: string
  filename?: string
  contentType?: string
  data: Buffer
}

export function multipartBoundary (contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

function parseHeaders (block: string) {
  const headers: Record<string, string> = {}
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return headers
}

function dispositionParam (disposition: string | undefined, key: string) {
  if (!disposition) return undefined
  const m = new RegExp(`(?:^|;)\\s*${key}="([^"]*)"`, 'i').exec(disposition) ?? new RegExp(`(?:^|;)\\s*${key}=([^;\\s]*)`, 'i').exec(disposition)
  return m ? m[1] : undefined
}

/** Splits a multipart/form-data body by its boundary (RFC 7578); undefined when it is malformed. */
export function parseMultipart (body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: MultipartPart[] = []
  let pos = body.indexOf(delimiter)
  if (pos < 0) return undefined
  while (true) {
    pos += delimiter.length
    if (body.subarray(pos, pos + 2).toString() === '--') return parts
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') return undefined
    const headerEnd = body.indexOf('\r\n\r\n', pos)
    if (headerEnd < 0) return undefined
    const headers = parseHeaders(body.subarray(pos + 2, headerEnd).toString('utf8'))
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4)
    if (next < 0) return undefined
    const disposition = headers['content-disposition']
    parts.push({
      headers,
      name: dispositionParam(disposition, 'name'),
      filename: dispositionParam(disposition, 'filename'),
      contentType: headers['content-type'],
      data: body.subarray(headerEnd + 4, next),
    })
    pos = next + 2
  }
}
