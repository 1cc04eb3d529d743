/** Fault injection; the same shape is accepted by POST /_sim/faults, `--faults FILE` and setFaults(). */
export interface FaultSpec {
  /** true: stop answering until the fault is cleared; a number: stop answering for that many ms. */
  hang?: boolean | number
  /** The next n device requests get HTTP 503 + ResponseStatus statusCode 2 deviceBusy. */
  busy?: number
  /** The next n device requests have their connection destroyed without a response. */
  reset?: number
  latencyMs?: number
  latencyUserMs?: number
  latencyFaceMs?: number
}

export interface SimulatedTerminalOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string
  /** Listen port; default 0 (any free port). */
  port?: number
  username?: string
  password?: string
  /** Seeds the default serial, MAC and realm so several terminals differ; default 0. */
  index?: number
  shortSerial?: string
  /** Colon-separated MAC, any case. */
  macAddress?: string
  model?: string
  firmwareVersion?: string
  /** As deviceInfo prints it, e.g. "build 260305". */
  firmwareReleasedDate?: string
  deviceName?: string
  /** Address the device reports about itself (pushes, network interfaces); default = host. */
  ipAddress?: string
  realm?: string
  /** POSIX-style, sign inverted: "CST-5:00:00" is UTC+05:00. */
  timeZone?: string
  /** The nonce is refused on this use (K1T342: the 3rd use gets 401); default 3. */
  nonceDiesOnUse?: number
  nonceMaxAgeMs?: number
  lockoutThreshold?: number
  lockoutMs?: number
  supportsSetUp?: boolean
  /** false: firmware without UserInfo/Modify (the URL answers notSupport, capabilities omit `put`). */
  supportsModify?: boolean
  maxFaceBytes?: number
  faults?: FaultSpec
  /** Injectable clock (epoch ms) for nonce age, lock-out, event times and the device clock. */
  now?: () => number
  /** Seed of the AcsEvent result permutation. */
  seed?: number
  /** Record the power-on event (2/1024) at start; default true. */
  bootEvent?: boolean
  /** serialNo of the first recorded event; default 1. */
  firstSerialNo?: number
  pushTimeoutMs?: number
  faceDownloadTimeoutMs?: number
  requestLogLimit?: number
}

export interface ManualClock {
  now: () => number
  advance: (ms: number) => void
  set: (epochMs: number) => void
}
