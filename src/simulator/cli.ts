import { readFileSync } from 'node:fs'
import { parseSimulatorArgs, USAGE } from './cli-args.js'
import type { SimulatorCliArgs } from './cli-args.js'
import { parseFaultSpec } from './faults.js'
import type { FaultSpec } from './sim.types.js'
import { startSimulatedTerminals } from './terminal.js'
import type { SimulatedTerminal } from './terminal.js'

function faultsFrom (args: SimulatorCliArgs): FaultSpec {
  const fromFile = args.faultsFile ? parseFaultSpec(JSON.parse(readFileSync(args.faultsFile, 'utf8'))) : {}
  const flags: FaultSpec = { latencyMs: args.latencyMs, latencyUserMs: args.latencyUserMs, latencyFaceMs: args.latencyFaceMs }
  return { ...fromFile, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) }
}

function describe (t: SimulatedTerminal, i: number) {
  const id = t.identity
  return [
    `#${i + 1} ${t.url}`,
    `   user ${t.username} / ${t.password}  realm ${id.realm}`,
    `   serial ${id.serialNumber} (short ${id.shortSerial})  mac ${id.macAddress}  model ${id.model} ${id.firmwareVersion}`,
    `   control: GET ${t.url}/_sim/state  POST ${t.url}/_sim/events/face  POST ${t.url}/_sim/heartbeat  POST|DELETE ${t.url}/_sim/faults`,
  ].join('\n')
}

async function main () {
  const args = parseSimulatorArgs(process.argv.slice(2))
  if (args.help) {
    console.log(USAGE)
    return
  }
  const terminals = await startSimulatedTerminals(args.devices, {
    index: args.firstIndex,
    nonceDiesOnUse: args.nonceDiesOnUse,
    basePort: args.basePort,
    host: args.host,
    username: args.username,
    password: args.password,
    supportsSetUp: args.supportsSetUp,
    supportsModify: args.supportsModify,
    faults: faultsFrom(args),
  })
  console.log(`facegate ISAPI simulator: ${terminals.length} terminal(s)`)
  terminals.forEach((t, i) => console.log(describe(t, args.firstIndex + i)))
  const stop = () => {
    Promise.all(terminals.map((t) => t.close())).then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err: unknown) => {
  console.error(`simulator: ${(err as Error).message}`)
  console.error(USAGE)
  process.exit(1)
})
