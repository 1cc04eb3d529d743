/**
 * Reads the Wireshark "Follow TCP stream (ascii)" dumps in isapi-samples: segments are introduced
 * by their byte count (tab-indented for the second node), carriage returns were stripped and tabs
 * inside payloads print as '.'. Consecutive segments of one side are joined into HTTP messages.
 */
export interface CapturedMessage {
  from: 'client' | 'server'
  startLine: string
  headers: Record<string, string>
  body: string
}

const SEGMENT = /^(\t?)(\d+)$/

export function parseCapture (text: string): CapturedMessage[] {
  const lines = text.split('\n')
  const runs: Array<{ from: 'client' | 'server', text: string }> = []
  let current: { from: 'client' | 'server', lines: string[], expected: number, seen: number } | undefined
  const flush = () => {
    if (!current) return
    // The dump's own newline after each segment is the one split() consumed.
    const seg = current.lines.join('\n')
    const last = runs.at(-1)
    if (last && last.from === current.from) last.text += seg
    else runs.push({ from: current.from, text: seg })
    current = undefined
  }
  for (const line of lines) {
    const m = SEGMENT.exec(line)
    // A digit-only line is a segment header only once the current segment has its bytes ("200" can be a body).
    if (m && (!current || current.seen + current.lines.length >= current.expected)) {
      flush()
      current = { from: m[1] ? 'server' : 'client', lines: [], expected: Number(m[2]), seen: 0 }
    } else if (/={20,}$/.test(line)) {
      // The closing rule can follow the last payload byte on the same line ("200====…").
      const tail = line.replace(/={20,}$/, '')
      if (current && tail) current.lines.push(tail)
      flush()
    } else if (current) {
      current.lines.push(line)
      current.seen += Buffer.byteLength(line) + 1
    }
  }
  flush()
  return runs.flatMap((r) => splitMessages(r.from, r.text))
}

const START = /^(?:(?:GET|PUT|POST|DELETE) \S+ HTTP\/1\.1|HTTP\/1\.1 \d{3}.*)$/m

function splitMessages (from: 'client' | 'server', text: string): CapturedMessage[] {
  const out: CapturedMessage[] = []
  let rest = text
  while (rest.length) {
    const headEnd = rest.indexOf('\n\n')
    const head = headEnd < 0 ? rest : rest.slice(0, headEnd)
    const [startLine, ...headerLines] = head.split('\n')
    const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    let body = headEnd < 0 ? '' : rest.slice(headEnd + 2)
    const next = START.exec(body)
    rest = next ? body.slice(next.index) : ''
    body = next ? body.slice(0, next.index) : body
    out.push({ from, startLine, headers, body })
  }
  return out
}

/** Undoes the dump's '.'-for-TAB substitution outside JSON string literals. */
export function restoreJsonTabs (json: string) {
  let out = ''
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '"' && json[i - 1] !== '\\') inString = !inString
    out += !inString && c === '.' ? '\t' : c
  }
  return out
}

/** Parts of a multipart body (boundary from the Content-Type), each with its own headers. */
export function multipartParts (body: string, boundary: string, newline = '\r\n') {
  return body.split(`--${boundary}`).slice(1, -1).map((raw) => {
    const part = raw.slice(newline.length)
    const headEnd = part.indexOf(newline + newline)
    const headers = Object.fromEntries(part.slice(0, headEnd).split(newline).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const content = part.slice(headEnd + newline.length * 2).replace(new RegExp(`${newline}$`), '')
    return { headers, content }
  })
}
