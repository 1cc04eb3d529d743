import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { nodeFlagsOf } from '../../scripts/bench-support.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (file: string) => readFileSync(`${ROOT}/${file}`, 'utf8')

describe('how the server is run', () => {
  it('npm start, npm run serve and the Docker image give node the same flags and malloc setting', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    const serve = nodeFlagsOf(scripts.serve)
    expect(serve).toEqual(['--heap-growing-percent=50', '--enable-source-maps'])
    expect(nodeFlagsOf(scripts.start)).toEqual(serve)
    const dockerfile = read('Dockerfile')
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[]
    expect(cmd).toEqual(['node', ...serve, 'dist/server.js'])
    for (const script of [scripts.start, scripts.serve]) expect(script).toMatch(/MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-2\} /)
    expect(dockerfile).toMatch(/MALLOC_ARENA_MAX=2/)
  })
})
