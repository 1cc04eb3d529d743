import { parseArgs } from 'node:util'

export interface SimulatorCliArgs {
  devices: number
  firstIndex: number
  basePort: number
  host: string
  username?: string
  password?: string
  latencyMs?: number
  latencyUserMs?: number
  latencyFaceMs?: number
  faultsFile?: string
  nonceDiesOnUse?: number
  supportsSetUp: boolean
  supportsModify: boolean
  help: boolean
}

export const USAGE = `Usage: npm run simulator -- [options]

  --devices N          number of terminals (default 1)
  --first-index I      number of the first terminal, which its serial, MAC and realm derive from (default 0);
                       give each simulator process its own range so no two terminals look alike
  --base-port P        first port; terminal i listens on P+i (default 0 = any free port)
  --host H             listen address (default 127.0.0.1)
  --username U         digest username (default admin)
  --password PW        digest password (default Sim12345)
  --latency MS         extra delay on every ISAPI request
  --latency-user MS    extra delay on UserInfo requests
  --latency-face MS    extra delay on FDLib requests
  --faults FILE        JSON fault spec applied at start-up (same shape as POST /_sim/faults)
  --nonce-dies-on-use N  a Digest nonce is refused on its Nth use (default 3, as a DS-K1T342 V4.48)
  --no-setup           behave like firmware without UserInfo/SetUp
  --no-modify          behave like firmware without UserInfo/Modify
  --help               this text`

function intArg (name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${value}"`)
  return Number(value)
}

export function parseSimulatorArgs (argv: string[]): SimulatorCliArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      devices: { type: 'string' },
      'first-index': { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      latency: { type: 'string' },
      'latency-user': { type: 'string' },
      'latency-face': { type: 'string' },
      faults: { type: 'string' },
      'nonce-dies-on-use': { type: 'string' },
      'no-setup': { type: 'boolean' },
      'no-modify': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  })
  const devices = intArg('devices', values.devices, 1, 1000) ?? 1
  const basePort = intArg('base-port', values['base-port'], 0, 65535) ?? 0
  if (basePort !== 0 && basePort + devices - 1 > 65535) throw new Error('--base-port + --devices exceeds port 65535')
  return {
    devices,
    firstIndex: intArg('first-index', values['first-index'], 0, 100_000) ?? 0,
    basePort,
    host: values.host ?? '127.0.0.1',
    username: values.username,
    password: values.password,
    latencyMs: intArg('latency', values.latency, 0, 600_000),
    latencyUserMs: intArg('latency-user', values['latency-user'], 0, 600_000),
    latencyFaceMs: intArg('latency-face', values['latency-face'], 0, 600_000),
    faultsFile: values.faults,
    nonceDiesOnUse: intArg('nonce-dies-on-use', values['nonce-dies-on-use'], 2, 1_000_000),
    supportsSetUp: values['no-setup'] !== true,
    supportsModify: values['no-modify'] !== true,
    help: values.help === true,
  }
}
