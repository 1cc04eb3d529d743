import { readFileSync } from 'node:fs'

const cache = new Map<string, Buffer>()

/** tsc does not copy the fixtures into dist/, so a compiled build reads them from the source tree. */
function read (name: string) {
  try {
    return readFileSync(new URL(`./fixtures/${name}`, import.meta.url))
  } catch {
    return readFileSync(new URL(`../../src/simulator/fixtures/${name}`, import.meta.url))
  }
}

/** Real payloads served byte-for-byte (see fixtures/SOURCES.md). */
export function fixture (name: string): Buffer {
  let buf = cache.get(name)
  if (!buf) {
    buf = read(name)
    cache.set(name, buf)
  }
  return buf
}

/** A real 16×16 JPEG (265 bytes) used as the capture picture of simulated face events. */
export const CAPTURE_JPEG = Buffer.from(
  '/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/' +
  'wAARCAAQABADASIAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/xAAUAQEAAAAAAAAAAAAAAAAAAAAA/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AAA//2Q==',
  'base64'
)
