// The emulator's settings, read once from the environment by its entry (main.ts).

export const FAULT_NAMES = [
  '50429', '50430', '50500', '50501', '50411', '50412', '50413', '50511', '50512', '50518', '50519',
  'SignatureDoesNotMatch', 'AccessDenied', 'MissingAuthenticationToken', 'hang', 'reset', 'malformed'
] as const

export type FaultName = typeof FAULT_NAMES[number]

export interface Fault {
  name: FaultName
  /** 0..1; 1 makes the fault certain */
  probability: number
}

export interface EmulatorOptions {
  accessKeyId: string
  secretAccessKey: string
  /** when set, every call must carry it as X-Security-Token */
  sessionToken?: string
  /** delay before each answer to a signed call */
  latencyMs: number
  /** most signed calls in flight at once; past it, 429 50430. 0 = unlimited */
  concurrency: number
  faults: Fault[]
  /** how long a return_url link stays valid (Volcengine's expire); 24 h by default */
  urlTtlMs?: number
  region?: string
  service?: string
}

function isFaultName (name: string): name is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(name)
}

/**
 * Parses `EMULATOR_FAULTS`: a comma list of `name:probability`, e.g. `50429:0.2,hang:0.05`.
 * A bare name means probability 1.
 */
export function parseFaults (spec: string): Fault[] {
  const faults: Fault[] = []
  for (const item of spec.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const [name = '', probabilityText, ...rest] = item.split(':').map((part) => part.trim())
    if (!isFaultName(name)) {
      throw new Error(`EMULATOR_FAULTS: unknown fault "${name}" in "${item}"; known faults: ${FAULT_NAMES.join(', ')}`)
    }
    const probability = probabilityText === undefined ? 1 : Number(probabilityText)
    if (rest.length > 0 || probabilityText === '' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
      throw new Error(`EMULATOR_FAULTS: "${item}" must be name:probability with a probability from 0 to 1`)
    }
    faults.push({ name, probability })
  }
  return faults
}

function nonNegativeInteger (env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim()
  if (text === undefined || text === '') return fallback
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a non-negative integer, got "${text}"`)
  return Number(text)
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

export function emulatorOptionsFromEnv (env: NodeJS.ProcessEnv): EmulatorOptions {
  const options: EmulatorOptions = {
    accessKeyId: nonEmpty(env.EMULATOR_ACCESS_KEY_ID) ?? 'AKLTdev',
    secretAccessKey: nonEmpty(env.EMULATOR_SECRET_ACCESS_KEY) ?? 'dev-secret',
    latencyMs: nonNegativeInteger(env, 'EMULATOR_LATENCY_MS', 0),
    concurrency: nonNegativeInteger(env, 'EMULATOR_CONCURRENCY', 0),
    faults: parseFaults(env.EMULATOR_FAULTS ?? ''),
    urlTtlMs: nonNegativeInteger(env, 'EMULATOR_URL_TTL_MS', 86_400_000)
  }
  const sessionToken = nonEmpty(env.EMULATOR_SESSION_TOKEN)
  if (sessionToken !== undefined) options.sessionToken = sessionToken
  const region = nonEmpty(env.EMULATOR_REGION)
  if (region !== undefined) options.region = region
  const service = nonEmpty(env.EMULATOR_SERVICE)
  if (service !== undefined) options.service = service
  return options
}
