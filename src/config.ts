// The environment (and .env, and _FILE secrets) validated once into one typed Config.
// Every wrong value stops the start with one line naming the variable; no value of a secret is ever echoed.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { parseEnv } from 'node:util'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import envSchema from 'env-schema'
import type { Config } from './config-types.js'
import { TIME_WINDOW_EXPECTED, timeWindowMs } from './keys/time-window.js'
import { parseAllowHosts, parseCorsOrigins, parseTrustProxy, parseHttpUrl, parseRedisUrl } from './config-values.js'
import type { Credentials } from './upstream/sign.js'

export type { Config } from './config-types.js'

/** A configuration that cannot start the service; the message is one line, safe to print. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  override readonly name = 'ConfigError'
}

/** The longest delay setTimeout honours; beyond it Node fires at once. */
const MAX_TIMER_MS = 2_147_483_647

function int (defaultValue: number, minimum: number, maximum: number) {
  return Type.Integer({ default: defaultValue, minimum, maximum })
}
function ms (defaultValue: number, minimum = 1) {
  return int(defaultValue, minimum, MAX_TIMER_MS)
}
function stringEnum<const T extends string> (values: readonly T[], defaultValue: T) {
  return Type.Unsafe<T>({ type: 'string', enum: values, default: defaultValue })
}
const Text = Type.Optional(Type.String({ minLength: 1 }))

const EnvSchema = Type.Object({
  PORT: int(3000, 0, 65535),
  HOST: Type.String({ default: '0.0.0.0', pattern: '^\\S+$' }),
  VOLC_ACCESS_KEY_ID: Text,
  VOLC_ACCESS_KEY_ID_FILE: Text,
  VOLC_SECRET_ACCESS_KEY: Text,
  VOLC_SECRET_ACCESS_KEY_FILE: Text,
  VOLC_SESSION_TOKEN: Text,
  VOLC_SESSION_TOKEN_FILE: Text,
  VOLC_REGION: Type.String({ default: 'cn-north-1', pattern: '^[A-Za-z0-9_-]+$', description: 'a region name such as cn-north-1' }),
  VOLC_SERVICE: Type.String({ default: 'cv', pattern: '^[A-Za-z0-9_-]+$', description: 'a service name such as cv' }),
  UPSTREAM_URL: Type.String({ default: 'https://visual.volcengineapi.com' }),
  UPSTREAM_TIMEOUT_MS: ms(60_000),
  UPSTREAM_CONCURRENCY: int(2, 1, 10_000),
  UPSTREAM_QUEUE_MAX: int(100, 0, 1_000_000),
  UPSTREAM_QUEUE_TIMEOUT_MS: ms(30_000),
  UPSTREAM_RETRIES: int(2, 0, 10),
  UPSTREAM_DEADLINE_MS: ms(90_000),
  UPSTREAM_BREAKER_THRESHOLD: int(5, 1, 1_000_000),
  UPSTREAM_BREAKER_COOLDOWN_MS: ms(30_000),
  API_KEYS_FILE: Text,
  RATE_LIMIT_MAX: int(30, 1, 1_000_000_000),
  RATE_LIMIT_WINDOW: Type.String({ default: '1 minute' }),
  REDIS_URL: Text,
  REDIS_KEY_PREFIX: Type.String({ default: 'stylize:', pattern: '^[A-Za-z0-9._:{}-]{1,64}$', description: '1 to 64 of A-Z a-z 0-9 . _ : { } -' }),
  MAX_UPLOAD_BYTES: int(15_728_640, 1, 1_073_741_824),
  MAX_IMAGE_PIXELS: int(100_000_000, 1, 1_000_000_000),
  // 800: the upstream wants a long side of at least 800; 4096: its largest accepted side.
  IMAGE_MAX_EDGE: int(1024, 800, 4096),
  IMAGE_URL_MODE: stringEnum(['fetch', 'passthrough'], 'fetch'),
  // 0: four per core (os.availableParallelism())
  IMAGE_WORK_MAX: int(0, 0, 100_000),
  // 0: image work at the event loop's own priority; 1..19: below it (Linux)
  IMAGE_WORK_NICE: int(10, 0, 19),
  IMAGE_FETCH_TIMEOUT_MS: ms(10_000),
  IMAGE_FETCH_ALLOW_HOSTS: Text,
  PRESETS_FILE: Text,
  IDEMPOTENCY_TTL_MS: ms(86_400_000),
  IDEMPOTENCY_WAIT_MS: int(30_000, 0, MAX_TIMER_MS),
  SHUTDOWN_TIMEOUT_MS: ms(30_000),
  SHUTDOWN_DRAIN_MS: int(0, 0, 120_000),
  REQUEST_TIMEOUT_MS: int(120_000, 1000, 3_600_000),
  MAX_EVENT_LOOP_DELAY_MS: int(1000, 0, 60_000),
  METRICS_TOKEN: Type.Optional(Type.String({ pattern: '^\\S+$' })),
  CORS_ORIGINS: Text,
  TRUST_PROXY: Type.String({ default: 'false' }),
  LOG_LEVEL: stringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  DEMO_PAGE: Type.Boolean({ default: false }),
  JOB_TTL_MS: ms(86_400_000),
  WEBHOOK_SECRET: Text,
  WEBHOOK_SECRET_FILE: Text,
  WEBHOOK_MAX_ATTEMPTS: int(6, 1, 20),
  WEBHOOK_ALLOW_HOSTS: Text,
  PRICE_PER_CALL: Type.Optional(Type.String({ pattern: '^\\d{1,9}(\\.\\d{1,10})?$', description: 'a price such as 0.2 (digits, a point, at most 10 decimals)' })),
  PRICE_CURRENCY: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'a currency code such as CNY or USD' })),
  ADMIN_TOKEN: Text,
  ADMIN_TOKEN_FILE: Text
})
type Env = Static<typeof EnvSchema>

/** Every variable loadConfig reads (`.env.example` documents each of them). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.properties)

/** The variables that may come from a file; their values are never echoed in an error message. */
type SecretName = 'VOLC_ACCESS_KEY_ID' | 'VOLC_SECRET_ACCESS_KEY' | 'VOLC_SESSION_TOKEN' | 'WEBHOOK_SECRET' | 'ADMIN_TOKEN'

export interface LoadConfigOptions {
  /** `.env` to read when it exists (default: `.env` in the working directory); false reads none. */
  dotenvPath?: string | false
}

export function loadConfig (env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const vars = validate(collect(env, options.dotenvPath))
  const { credentials, secretFiles } = readCredentials(vars)
  const adminToken = readSecret(vars, 'ADMIN_TOKEN')
  if (adminToken.value !== undefined) checkAdminToken(adminToken.value)
  if (adminToken.file !== undefined) secretFiles.adminToken = adminToken.file
  if (vars.PRICE_CURRENCY !== undefined && vars.PRICE_PER_CALL === undefined) {
    throw new ConfigError('PRICE_CURRENCY is set but PRICE_PER_CALL is not; set the price too (or neither)')
  }
  const redisUrl = vars.REDIS_URL
  return {
    port: vars.PORT,
    host: vars.HOST,
    credentials,
    volcRegion: vars.VOLC_REGION,
    volcService: vars.VOLC_SERVICE,
    upstreamUrl: check('UPSTREAM_URL', () => parseHttpUrl(vars.UPSTREAM_URL)),
    upstreamTimeoutMs: vars.UPSTREAM_TIMEOUT_MS,
    upstreamConcurrency: vars.UPSTREAM_CONCURRENCY,
    upstreamQueueMax: vars.UPSTREAM_QUEUE_MAX,
    upstreamQueueTimeoutMs: vars.UPSTREAM_QUEUE_TIMEOUT_MS,
    upstreamRetries: vars.UPSTREAM_RETRIES,
    upstreamDeadlineMs: vars.UPSTREAM_DEADLINE_MS,
    upstreamBreakerThreshold: vars.UPSTREAM_BREAKER_THRESHOLD,
    upstreamBreakerCooldownMs: vars.UPSTREAM_BREAKER_COOLDOWN_MS,
    apiKeysFile: vars.API_KEYS_FILE,
    rateLimitMax: vars.RATE_LIMIT_MAX,
    rateLimitWindow: check('RATE_LIMIT_WINDOW', () => parseRateLimitWindow(vars.RATE_LIMIT_WINDOW)),
    redisUrl: redisUrl === undefined ? undefined : check('REDIS_URL', () => parseRedisUrl(redisUrl)),
    redisKeyPrefix: vars.REDIS_KEY_PREFIX,
    maxUploadBytes: vars.MAX_UPLOAD_BYTES,
    maxImagePixels: vars.MAX_IMAGE_PIXELS,
    imageMaxEdge: vars.IMAGE_MAX_EDGE,
    imageUrlMode: vars.IMAGE_URL_MODE,
    imageWorkMax: vars.IMAGE_WORK_MAX === 0 ? 4 * availableParallelism() : vars.IMAGE_WORK_MAX,
    imageWorkNice: vars.IMAGE_WORK_NICE,
    imageFetchTimeoutMs: vars.IMAGE_FETCH_TIMEOUT_MS,
    imageFetchAllowHosts: check('IMAGE_FETCH_ALLOW_HOSTS', () => parseAllowHosts(vars.IMAGE_FETCH_ALLOW_HOSTS ?? '')),
    presetsFile: vars.PRESETS_FILE,
    idempotencyTtlMs: vars.IDEMPOTENCY_TTL_MS,
    idempotencyWaitMs: vars.IDEMPOTENCY_WAIT_MS,
    shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: vars.SHUTDOWN_DRAIN_MS,
    requestTimeoutMs: vars.REQUEST_TIMEOUT_MS,
    maxEventLoopDelayMs: vars.MAX_EVENT_LOOP_DELAY_MS,
    metricsToken: vars.METRICS_TOKEN,
    corsOrigins: check('CORS_ORIGINS', () => parseCorsOrigins(vars.CORS_ORIGINS ?? '')),
    trustProxy: check('TRUST_PROXY', () => parseTrustProxy(vars.TRUST_PROXY)),
    logLevel: vars.LOG_LEVEL,
    demoPage: vars.DEMO_PAGE,
    jobTtlMs: vars.JOB_TTL_MS,
    webhookSecret: readWebhookSecret(vars),
    webhookMaxAttempts: vars.WEBHOOK_MAX_ATTEMPTS,
    webhookAllowHosts: check('WEBHOOK_ALLOW_HOSTS', () => parseAllowHosts(vars.WEBHOOK_ALLOW_HOSTS ?? '')),
    pricePerCall: vars.PRICE_PER_CALL === undefined ? undefined : Number(vars.PRICE_PER_CALL),
    priceCurrency: vars.PRICE_CURRENCY,
    adminToken: adminToken.value,
    secretFiles
  }
}

/** `npm start` serves paying traffic: it needs upstream credentials and client keys. */
export function assertProductionReady (config: Config): void {
  const missing: string[] = []
  if (config.credentials === undefined) missing.push('VOLC_ACCESS_KEY_ID and VOLC_SECRET_ACCESS_KEY (or their _FILE variants)')
  if (config.apiKeysFile === undefined) missing.push('API_KEYS_FILE')
  if (missing.length > 0) {
    throw new ConfigError(`${missing.join(' and ')} must be set to start in production (npm run dev needs neither)`)
  }
}

/**
 * Re-reads the secrets that came from _FILE variables (SIGHUP: STS tokens expire). Throws ConfigError
 * when a file is missing or broken, so the caller keeps its last good credentials.
 */
export function reloadCredentials (config: Config): Credentials | undefined {
  const current = config.credentials
  if (current === undefined) return undefined
  const files = config.secretFiles
  const next: Credentials = { ...current }
  if (files.accessKeyId !== undefined) next.accessKeyId = readSecretFile('VOLC_ACCESS_KEY_ID', files.accessKeyId)
  if (files.secretAccessKey !== undefined) next.secretAccessKey = readSecretFile('VOLC_SECRET_ACCESS_KEY', files.secretAccessKey)
  if (files.sessionToken !== undefined) next.sessionToken = readSecretFile('VOLC_SESSION_TOKEN', files.sessionToken)
  return next
}

/** Re-reads ADMIN_TOKEN_FILE (SIGHUP); throws ConfigError when it is missing or broken. */
export function reloadAdminToken (config: Config): string | undefined {
  const file = config.secretFiles.adminToken
  if (file === undefined) return config.adminToken
  const token = readSecretFile('ADMIN_TOKEN', file)
  checkAdminToken(token)
  return token
}

/** An admin token reads every key's usage: one that can be guessed is refused. */
function checkAdminToken (token: string): void {
  if (token.length < 16) throw new ConfigError('ADMIN_TOKEN must be at least 16 characters (e.g. $(openssl rand -hex 32))')
}

/**
 * The environment with `.env` beneath it, as a new object (for the dev and emulator entries, which read
 * variables of their own). What the environment already has wins, as with dotenv.
 */
export function withDotenv (env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = readDotenv(options.dotenvPath)
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value
  return merged
}

/** The known variables from the environment over `.env`; an empty value counts as unset. */
function collect (env: NodeJS.ProcessEnv, dotenvPath: string | false | undefined): Record<string, string> {
  const fromFile = readDotenv(dotenvPath)
  // Only process.env is ever written to (so later readers of process.env see .env too), never a caller's object.
  if (env === process.env) {
    for (const [name, value] of Object.entries(fromFile)) {
      if (process.env[name] === undefined) process.env[name] = value
    }
  }
  const vars: Record<string, string> = {}
  for (const name of CONFIG_VARIABLES) {
    const value = env[name] ?? fromFile[name]
    if (value !== undefined && value !== '') vars[name] = value
  }
  return vars
}

function readDotenv (dotenvPath: string | false | undefined): Record<string, string> {
  if (dotenvPath === false) return {}
  const path = resolve(dotenvPath ?? '.env')
  if (!existsSync(path)) return {}
  try {
    // Node's own .env parser (20.12+): the format dotenv reads, without the dependency
    return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>
  } catch (err) {
    throw new ConfigError(`cannot read ${path} (${errorCode(err)})`)
  }
}

function validate (vars: Record<string, string>): Env {
  try {
    return envSchema<Env>({ schema: EnvSchema, data: vars, env: false })
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string }> }).errors ?? []
    const names = [...new Set(errors.map((e) => e.instancePath.replace(/^\//, '')))]
    throw new ConfigError(names.map((name) => `${name} must be ${expectation(name)}`).join('; '))
  }
}

/** "What is expected" in words, read off the variable's schema. */
function expectation (name: string): string {
  const schema = (EnvSchema.properties as Record<string, TSchema | undefined>)[name]
  if (typeof schema?.description === 'string') return schema.description
  if (schema?.enum !== undefined) return `one of ${(schema.enum as string[]).join(', ')}`
  if (schema?.type === 'boolean') return 'true or false'
  if (schema?.type === 'integer') return `an integer from ${schema.minimum as number} to ${schema.maximum as number}`
  return 'a non-empty value without spaces'
}

function parseRateLimitWindow (value: string): number | string {
  const trimmed = value.trim()
  if (timeWindowMs(trimmed) === undefined) throw new Error(`must be ${TIME_WINDOW_EXPECTED}`)
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed
}

/** Runs a value parser; its Error message ("must be ...") becomes the variable's one line. */
function check<T> (name: string, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new ConfigError(`${name} ${(err as Error).message}`)
  }
}

function readCredentials (vars: Env): { credentials: Credentials | undefined, secretFiles: Config['secretFiles'] } {
  const accessKeyId = readSecret(vars, 'VOLC_ACCESS_KEY_ID')
  const secretAccessKey = readSecret(vars, 'VOLC_SECRET_ACCESS_KEY')
  const sessionToken = readSecret(vars, 'VOLC_SESSION_TOKEN')
  const secretFiles: Config['secretFiles'] = {}
  if (accessKeyId.file !== undefined) secretFiles.accessKeyId = accessKeyId.file
  if (secretAccessKey.file !== undefined) secretFiles.secretAccessKey = secretAccessKey.file
  if (sessionToken.file !== undefined) secretFiles.sessionToken = sessionToken.file

  if (accessKeyId.value === undefined && secretAccessKey.value === undefined) {
    if (sessionToken.value !== undefined) {
      throw new ConfigError('VOLC_SESSION_TOKEN is set but VOLC_ACCESS_KEY_ID and VOLC_SECRET_ACCESS_KEY are not; set all three')
    }
    return { credentials: undefined, secretFiles }
  }
  if (accessKeyId.value === undefined) throw new ConfigError('VOLC_ACCESS_KEY_ID (or VOLC_ACCESS_KEY_ID_FILE) must be set together with VOLC_SECRET_ACCESS_KEY')
  if (secretAccessKey.value === undefined) throw new ConfigError('VOLC_SECRET_ACCESS_KEY (or VOLC_SECRET_ACCESS_KEY_FILE) must be set together with VOLC_ACCESS_KEY_ID')
  const credentials: Credentials = { accessKeyId: accessKeyId.value, secretAccessKey: secretAccessKey.value }
  if (sessionToken.value !== undefined) credentials.sessionToken = sessionToken.value
  return { credentials, secretFiles }
}

/** Standard Webhooks' form: `whsec_` and base64 of at least 16 random bytes (the HMAC key). */
function readWebhookSecret (vars: Env): string | undefined {
  const secret = readSecret(vars, 'WEBHOOK_SECRET').value
  if (secret === undefined) return undefined
  const base64 = secret.replace(/^whsec_/, '')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || Buffer.from(base64, 'base64').length < 16) {
    throw new ConfigError('WEBHOOK_SECRET must be whsec_ followed by base64 of at least 16 random bytes (e.g. whsec_$(openssl rand -base64 32))')
  }
  return secret
}

function readSecret (vars: Env, name: SecretName): { value?: string, file?: string } {
  const direct = vars[name]
  const file = vars[`${name}_FILE`]
  if (direct !== undefined && file !== undefined) throw new ConfigError(`${name} and ${name}_FILE are both set; set only one`)
  if (file !== undefined) {
    const path = resolve(file)
    return { value: readSecretFile(name, path), file: path }
  }
  if (direct !== undefined) checkSecret(name, direct, name)
  return direct === undefined ? {} : { value: direct }
}

function readSecretFile (name: SecretName, path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`${name}_FILE: cannot read ${path} (${errorCode(err)})`)
  }
  // Secrets written with `echo` or an editor end with a newline that is not part of the value.
  const value = text.replace(/[\r\n]+$/, '')
  checkSecret(name, value, `${name}_FILE (${path})`)
  return value
}

function checkSecret (name: SecretName, value: string, where: string): void {
  if (value === '') throw new ConfigError(`${where} is empty; expected the ${name} value`)
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) throw new ConfigError(`${where} must not contain spaces, tabs, newlines or control characters`)
}

function errorCode (err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message
}
