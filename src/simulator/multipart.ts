import { MultipartError, splitMultipart, type MultipartPart } from '../lib/multipart.js'

export function multipartBoundary (contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

/** The parts of a multipart/form-data body (RFC 7578); undefined when it is malformed. */
export function parseMultipart (body: Buffer, boundary: string): MultipartPart[] | undefined {
  try {
    return splitMultipart(body, boundary)
  } catch (err) {
    if (err instanceof MultipartError) return undefined
    throw err
  }
}
