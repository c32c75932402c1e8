import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import {
  CONFIG_VARIABLES, ConfigError, assertProductionReady, loadConfig, reloadCredentials, withDotenv
} from '../src/config.js'

const noDotenv = { dotenvPath: false } as const

function load (env: NodeJS.ProcessEnv): ReturnType<typeof loadConfig> {
  return loadConfig(env, noDotenv)
}

/** The ConfigError message loadConfig throws for env, failing the test when it does not throw one. */
function refusal (env: NodeJS.ProcessEnv, options: Parameters<typeof loadConfig>[1] = noDotenv): string {
  try {
    loadConfig(env, options)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('loadConfig accepted ' + JSON.stringify(env))
}

test('defaults: every variable of the contract', async (t) => {
  t.same(load({}), {
    port: 3000,
    host: '0.0.0.0',
    credentials: undefined,
    volcRegion: 'cn-north-1',
    volcService: 'cv',
    upstreamUrl: 'https://visual.volcengineapi.com',
    upstreamTimeoutMs: 60000,
    upstreamConcurrency: 2,
    upstreamQueueMax: 100,
    upstreamQueueTimeoutMs: 30000,
    upstreamRetries: 2,
    upstreamDeadlineMs: 90000,
    upstreamBreakerThreshold: 5,
    upstreamBreakerCooldownMs: 30000,
    apiKeysFile: undefined,
    rateLimitMax: 30,
    rateLimitWindow: '1 minute',
    redisUrl: undefined,
    redisKeyPrefix: 'stylize:',
    maxUploadBytes: 15728640,
    maxImagePixels: 100000000,
    imageMaxEdge: 1024,
    imageUrlMode: 'fetch',
    imageWorkMax: 4 * availableParallelism(),
    imageWorkNice: 10,
    imageFetchTimeoutMs: 10000,
    imageFetchAllowHosts: [],
    presetsFile: undefined,
    idempotencyTtlMs: 86400000,
    idempotencyWaitMs: 30000,
    shutdownTimeoutMs: 30000,
    shutdownDrainMs: 0,
    requestTimeoutMs: 120000,
    maxEventLoopDelayMs: 1000,
    metricsToken: undefined,
    corsOrigins: [],
    trustProxy: false,
    logLevel: 'info',
    demoPage: false,
    jobTtlMs: 86400000,
    webhookSecret: undefined,
    webhookMaxAttempts: 6,
    webhookAllowHosts: [],
    pricePerCall: undefined,
    priceCurrency: undefined,
    adminToken: undefined,
    secretFiles: {}
  })
})

test('values are read with their types', async (t) => {
  const config = load({
    PORT: '8080',
    HOST: '127.0.0.1',
    VOLC_ACCESS_KEY_ID: 'AKLTabc',
    VOLC_SECRET_ACCESS_KEY: 'c2VjcmV0',
    VOLC_SESSION_TOKEN: 'sts-token',
    UPSTREAM_URL: 'http://127.0.0.1:3001',
    UPSTREAM_CONCURRENCY: '8',
    API_KEYS_FILE: '/etc/keys.json',
    RATE_LIMIT_MAX: '60',
    RATE_LIMIT_WINDOW: '30000',
    REDIS_URL: 'redis://:pw@127.0.0.1:6379/0',
    IMAGE_MAX_EDGE: '800',
    IMAGE_URL_MODE: 'passthrough',
    IMAGE_FETCH_ALLOW_HOSTS: ' Storage.Internal , 127.0.0.1:9000,,[::1]:8080 ',
    CORS_ORIGINS: 'https://App.example.com, http://localhost:5173/',
    TRUST_PROXY: '10.0.0.0/8, 192.168.1.1',
    LOG_LEVEL: 'debug',
    DEMO_PAGE: 'true',
    METRICS_TOKEN: 'scrape-me'
  })
  t.equal(config.port, 8080)
  t.same(config.credentials, { accessKeyId: 'AKLTabc', secretAccessKey: 'c2VjcmV0', sessionToken: 'sts-token' })
  t.equal(config.upstreamUrl, 'http://127.0.0.1:3001')
  t.equal(config.upstreamConcurrency, 8)
  t.equal(config.apiKeysFile, '/etc/keys.json')
  t.equal(config.rateLimitWindow, 30000)
  t.equal(config.redisUrl, 'redis://:pw@127.0.0.1:6379/0')
  t.equal(config.imageMaxEdge, 800)
  t.equal(config.imageUrlMode, 'passthrough')
  t.same(config.imageFetchAllowHosts, ['storage.internal', '127.0.0.1:9000', '[::1]:8080'])
  t.same(config.corsOrigins, ['https://app.example.com', 'http://localhost:5173'])
  t.equal(config.trustProxy, '10.0.0.0/8,192.168.1.1')
  t.equal(config.logLevel, 'debug')
  t.equal(config.demoPage, true)
  t.equal(config.metricsToken, 'scrape-me')
})

test('an empty value counts as unset', async (t) => {
  const config = load({ PORT: '', VOLC_ACCESS_KEY_ID: '', CORS_ORIGINS: '' })
  t.equal(config.port, 3000)
  t.equal(config.credentials, undefined)
  t.same(config.corsOrigins, [])
})

test('RATE_LIMIT_WINDOW takes milliseconds or a duration string', async (t) => {
  t.equal(load({ RATE_LIMIT_WINDOW: '1500' }).rateLimitWindow, 1500)
  t.equal(load({ RATE_LIMIT_WINDOW: ' 2 hours ' }).rateLimitWindow, '2 hours')
  t.equal(load({ RATE_LIMIT_WINDOW: '30s' }).rateLimitWindow, '30s')
})

test('TRUST_PROXY takes booleans, hops, and address lists', async (t) => {
  t.equal(load({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(load({ TRUST_PROXY: 'FALSE' }).trustProxy, false)
  t.equal(load({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.equal(load({ TRUST_PROXY: 'loopback, fd00::/8, 10.0.0.0/255.0.0.0' }).trustProxy, 'loopback,fd00::/8,10.0.0.0/255.0.0.0')
})

test('CORS_ORIGINS may be *', async (t) => {
  t.same(load({ CORS_ORIGINS: '*' }).corsOrigins, ['*'])
})

test('a wrong value names the variable and what is expected, in one line', async (t) => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT must be an integer from 0 to 65535$/],
    [{ PORT: '65536' }, /^PORT must be an integer from 0 to 65535$/],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, /^UPSTREAM_TIMEOUT_MS must be an integer from 1 to/],
    [{ UPSTREAM_TIMEOUT_MS: '-5' }, /^UPSTREAM_TIMEOUT_MS must be an integer/],
    [{ UPSTREAM_CONCURRENCY: '0' }, /^UPSTREAM_CONCURRENCY must be an integer from 1 to/],
    [{ UPSTREAM_RETRIES: '1.5' }, /^UPSTREAM_RETRIES must be an integer from 0 to 10$/],
    [{ IMAGE_MAX_EDGE: '640' }, /^IMAGE_MAX_EDGE must be an integer from 800 to 4096$/],
    [{ IMAGE_URL_MODE: 'proxy' }, /^IMAGE_URL_MODE must be one of fetch, passthrough$/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent$/],
    [{ DEMO_PAGE: 'yes' }, /^DEMO_PAGE must be true or false$/],
    [{ HOST: 'my host' }, /^HOST must be /],
    [{ VOLC_REGION: 'cn north' }, /^VOLC_REGION must be a region name/],
    [{ RATE_LIMIT_WINDOW: '1 fortnight' }, /^RATE_LIMIT_WINDOW must be a positive number of milliseconds or a duration/],
    [{ RATE_LIMIT_WINDOW: '0' }, /^RATE_LIMIT_WINDOW must be/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY entry "10.0.0.0\/33" must be an IP address, a CIDR/],
    [{ TRUST_PROXY: 'proxy.internal' }, /^TRUST_PROXY entry "proxy.internal"/],
    [{ TRUST_PROXY: 'proxy.internal/8' }, /^TRUST_PROXY entry "proxy.internal\/8"/],
    [{ TRUST_PROXY: '10.0.0.0/255.0.0' }, /^TRUST_PROXY entry "10.0.0.0\/255.0.0"/],
    [{ TRUST_PROXY: '5000' }, /^TRUST_PROXY must be true, false, a number of hops/],
    [{ TRUST_PROXY: ' , ' }, /^TRUST_PROXY must be true, false/],
    [{ UPSTREAM_URL: 'ftp://example.com' }, /^UPSTREAM_URL must be an http\(s\) URL/],
    [{ UPSTREAM_URL: 'not a url' }, /^UPSTREAM_URL must be an http\(s\) URL/],
    [{ CORS_ORIGINS: 'https://a.example.com/path' }, /^CORS_ORIGINS entry "https:\/\/a.example.com\/path" must be \* or an origin/],
    [{ IMAGE_FETCH_ALLOW_HOSTS: 'http://host' }, /^IMAGE_FETCH_ALLOW_HOSTS entry "http:\/\/host" must be host or host:port/],
    [{ IMAGE_FETCH_ALLOW_HOSTS: 'host:70000' }, /^IMAGE_FETCH_ALLOW_HOSTS entry "host:70000"/],
    [{ METRICS_TOKEN: 'two words' }, /^METRICS_TOKEN must be /]
  ]
  for (const [env, expected] of cases) {
    const message = refusal(env)
    t.match(message, expected, JSON.stringify(env))
    t.notMatch(message, /\n/, 'one line')
  }
})

test('several wrong values are reported together on one line', async (t) => {
  const message = refusal({ PORT: 'x', DEMO_PAGE: 'maybe' })
  t.match(message, /PORT must be .*; DEMO_PAGE must be true or false/)
  t.notMatch(message, /\n/)
})

test('a wrong secret-bearing value is never echoed', async (t) => {
  const message = refusal({ REDIS_URL: 'http://user:hunter2@127.0.0.1' })
  t.match(message, /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/)
  t.notMatch(message, /hunter2/)
  const secret = refusal({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY: 'sec ret-value' })
  t.match(secret, /^VOLC_SECRET_ACCESS_KEY must not contain spaces/)
  t.notMatch(secret, /ret-value/)
})

test('credentials: neither is fine, one without the other is refused', async (t) => {
  t.equal(load({}).credentials, undefined)
  t.match(refusal({ VOLC_ACCESS_KEY_ID: 'AKLTabc' }), /^VOLC_SECRET_ACCESS_KEY \(or VOLC_SECRET_ACCESS_KEY_FILE\) must be set together with VOLC_ACCESS_KEY_ID$/)
  t.match(refusal({ VOLC_SECRET_ACCESS_KEY: 'secret' }), /^VOLC_ACCESS_KEY_ID \(or VOLC_ACCESS_KEY_ID_FILE\) must be set together/)
  t.match(refusal({ VOLC_SESSION_TOKEN: 'token' }), /^VOLC_SESSION_TOKEN is set but VOLC_ACCESS_KEY_ID and VOLC_SECRET_ACCESS_KEY are not/)
})

test('_FILE variants read the file and drop the trailing newline', async (t) => {
  const dir = t.testdir({ id: 'AKLTfromfile\n', secret: 'secret-from-file\r\n', token: 'sts-from-file' })
  const config = load({
    VOLC_ACCESS_KEY_ID_FILE: join(dir, 'id'),
    VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'secret'),
    VOLC_SESSION_TOKEN_FILE: join(dir, 'token')
  })
  t.same(config.credentials, { accessKeyId: 'AKLTfromfile', secretAccessKey: 'secret-from-file', sessionToken: 'sts-from-file' })
  t.same(config.secretFiles, { accessKeyId: join(dir, 'id'), secretAccessKey: join(dir, 'secret'), sessionToken: join(dir, 'token') })
})

test('a _FILE may be mixed with a plain variable', async (t) => {
  const dir = t.testdir({ secret: 'secret-from-file\n' })
  const config = load({ VOLC_ACCESS_KEY_ID: 'AKLTplain', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'secret') })
  t.same(config.credentials, { accessKeyId: 'AKLTplain', secretAccessKey: 'secret-from-file' })
  t.same(config.secretFiles, { secretAccessKey: join(dir, 'secret') })
})

test('a variable and its _FILE together are refused', async (t) => {
  const dir = t.testdir({ secret: 'from-file\n' })
  const message = refusal({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY: 'plain-secret', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'secret') })
  t.equal(message, 'VOLC_SECRET_ACCESS_KEY and VOLC_SECRET_ACCESS_KEY_FILE are both set; set only one')
})

test('a missing _FILE is refused, naming the variable and the path', async (t) => {
  const dir = t.testdir({})
  const message = refusal({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'nope') })
  t.equal(message, `VOLC_SECRET_ACCESS_KEY_FILE: cannot read ${join(dir, 'nope')} (ENOENT)`)
})

test('an empty _FILE, or one with stray spaces, is refused without its content', async (t) => {
  const dir = t.testdir({ empty: '\n', spaced: 'top secret\n' })
  t.match(refusal({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'empty') }), /VOLC_SECRET_ACCESS_KEY_FILE \(.*empty\) is empty/)
  const spaced = refusal({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'spaced') })
  t.match(spaced, /must not contain spaces/)
  t.notMatch(spaced, /top secret/)
})

test('.env is read beneath the environment, which wins', async (t) => {
  const dir = t.testdir({ '.env': 'PORT=4000\nLOG_LEVEL=debug\nDEMO_PAGE=true\n' })
  const env = { PORT: '5000' }
  const config = loadConfig(env, { dotenvPath: join(dir, '.env') })
  t.equal(config.port, 5000, 'the environment wins')
  t.equal(config.logLevel, 'debug', '.env fills the rest')
  t.equal(config.demoPage, true)
  t.same(env, { PORT: '5000' }, "the caller's object is not changed")
})

test('a missing .env is no error', async (t) => {
  const dir = t.testdir({})
  t.equal(loadConfig({}, { dotenvPath: join(dir, '.env') }).port, 3000)
})

test('an unreadable .env is refused', async (t) => {
  const dir = t.testdir({ '.env': {} })
  t.match(refusal({}, { dotenvPath: join(dir, '.env') }), /^cannot read .*\.env \(EISDIR\)$/)
})

test('.env in the working directory is read by default', async (t) => {
  const dir = t.testdir({ '.env': 'PORT=4321\n' })
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  t.equal(loadConfig({}).port, 4321)
})

test('with process.env, .env values are added to process.env without overriding it', async (t) => {
  const dir = t.testdir({ '.env': 'STYLIZE_TEST_ONLY_FROM_DOTENV=from-file\nSTYLIZE_TEST_SET=from-file\n' })
  process.env.STYLIZE_TEST_SET = 'from-env'
  t.teardown(() => {
    delete process.env.STYLIZE_TEST_SET
    delete process.env.STYLIZE_TEST_ONLY_FROM_DOTENV
  })
  loadConfig(process.env, { dotenvPath: join(dir, '.env') })
  t.equal(process.env.STYLIZE_TEST_ONLY_FROM_DOTENV, 'from-file')
  t.equal(process.env.STYLIZE_TEST_SET, 'from-env')
})

test('withDotenv returns the environment over .env, as a new object', async (t) => {
  const dir = t.testdir({ '.env': 'EMULATOR_LATENCY_MS=50\nDEV_API_KEY=from-file\n' })
  const env = { DEV_API_KEY: 'from-env', UNSET: undefined }
  const merged = withDotenv(env, { dotenvPath: join(dir, '.env') })
  t.same(merged, { EMULATOR_LATENCY_MS: '50', DEV_API_KEY: 'from-env' })
  t.same(env, { DEV_API_KEY: 'from-env', UNSET: undefined })
})

test('assertProductionReady accepts credentials and a keys file', async (t) => {
  t.doesNotThrow(() => assertProductionReady(load({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY: 's', API_KEYS_FILE: '/k.json' })))
})

test('assertProductionReady refuses without credentials or keys, saying what is missing', async (t) => {
  t.throws(() => assertProductionReady(load({ API_KEYS_FILE: '/k.json' })), {
    name: 'ConfigError',
    message: /^VOLC_ACCESS_KEY_ID and VOLC_SECRET_ACCESS_KEY \(or their _FILE variants\) must be set/
  })
  t.throws(() => assertProductionReady(load({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY: 's' })), {
    name: 'ConfigError',
    message: /^API_KEYS_FILE must be set/
  })
  t.throws(() => assertProductionReady(load({})), { message: /VOLC_SECRET_ACCESS_KEY .* and API_KEYS_FILE must be set/ })
})

test('reloadCredentials re-reads the _FILE secrets', async (t) => {
  const dir = t.testdir({ secret: 'first\n', token: 'token-1\n' })
  const config = load({ VOLC_ACCESS_KEY_ID: 'AKLTplain', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'secret'), VOLC_SESSION_TOKEN_FILE: join(dir, 'token') })
  writeFileSync(join(dir, 'token'), 'token-2\n')
  writeFileSync(join(dir, 'secret'), 'second\n')
  t.same(reloadCredentials(config), { accessKeyId: 'AKLTplain', secretAccessKey: 'second', sessionToken: 'token-2' })
})

test('reloadCredentials re-reads a key id file too', async (t) => {
  const dir = t.testdir({ id: 'AKLTone\n' })
  const config = load({ VOLC_ACCESS_KEY_ID_FILE: join(dir, 'id'), VOLC_SECRET_ACCESS_KEY: 'plain' })
  writeFileSync(join(dir, 'id'), 'AKLTtwo')
  t.same(reloadCredentials(config), { accessKeyId: 'AKLTtwo', secretAccessKey: 'plain' })
})

test('reloadCredentials without files keeps the values, and without credentials gives none', async (t) => {
  t.same(reloadCredentials(load({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY: 's' })), { accessKeyId: 'AKLT', secretAccessKey: 's' })
  t.equal(reloadCredentials(load({})), undefined)
})

test('reloadCredentials throws on a missing or broken file, so the caller keeps the last good values', async (t) => {
  const dir = t.testdir({ secret: 'first\n', token: 'token-1\n' })
  const config = load({ VOLC_ACCESS_KEY_ID: 'AKLT', VOLC_SECRET_ACCESS_KEY_FILE: join(dir, 'secret'), VOLC_SESSION_TOKEN_FILE: join(dir, 'token') })
  writeFileSync(join(dir, 'token'), '')
  t.throws(() => reloadCredentials(config), { name: 'ConfigError', message: /^VOLC_SESSION_TOKEN_FILE \(.*\) is empty/ })
  writeFileSync(join(dir, 'token'), 'token-2\n')
  writeFileSync(join(dir, 'secret'), 'bad secret\n')
  const err = t.throws(() => reloadCredentials(config), { name: 'ConfigError' }) as Error
  t.notMatch(err.message, /bad secret/)
  t.same(config.credentials, { accessKeyId: 'AKLT', secretAccessKey: 'first', sessionToken: 'token-1' }, 'config untouched')
})

test('every configuration variable is documented in .env.example', async (t) => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8')
  for (const name of CONFIG_VARIABLES) {
    t.match(example, new RegExp(`^#? ?${name}=`, 'm'), name)
  }
})

test('copying .env.example to .env changes nothing', async (t) => {
  const config = loadConfig({}, { dotenvPath: new URL('../.env.example', import.meta.url).pathname })
  t.same(config, load({}))
})
