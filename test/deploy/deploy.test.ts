// What can be checked of the container and the fleet without running Docker: the compose file, the
// Dockerfile and the load balancer agree with the config schema, the docs and the build.
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'tap'
import { parse } from 'yaml'
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js'
import { emulatorOptionsFromEnv } from '../../src/emulator/options.js'
import { sha256Hex } from '../../src/upstream/sign.js'

type Json = Record<string, any>
const root = new URL('../../', import.meta.url)
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8')
const compose = parse(read('docker-compose.yml')) as Json
const services = compose.services as Record<string, Json>

/** A compose duration ("40s", "1m30s", "500ms") in milliseconds. */
function durationMs (text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`)
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit!]!, 0)
}

/** `${NAME:-default}` as compose would fill it with nothing set. */
function composeDefault (value: unknown): string {
  return String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfile (): Array<{ instruction: string, args: string }> {
  return read('Dockerfile').replace(/\\\n/g, ' ').split('\n')
    .map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [instruction = '', ...rest] = line.split(/\s+/)
      return { instruction: instruction.toUpperCase(), args: rest.join(' ') }
    })
}

test('the compose file: Redis, two proxy replicas behind a load balancer, the emulator under the dev profile', async (t) => {
  t.same(Object.keys(services).sort(), ['emulator', 'lb', 'proxy', 'redis'])
  t.equal(services.proxy!.deploy.replicas, 2)
  t.same(services.emulator!.profiles, ['dev'])
  t.same(services.emulator!.command, ['node', 'dist/emulator/main.js'], 'the emulator runs compiled, without tsx')
  t.equal(services.proxy!.environment.REDIS_URL, 'redis://redis:6379')
  t.match(services.lb!.volumes[0], /^\.\/deploy\/haproxy\.cfg:/)
  for (const name of ['proxy', 'lb', 'redis']) t.notOk(services[name]!.profiles, `${name} runs without a profile`)
})

test('every variable the compose file sets is one the services read', async (t) => {
  const known = new Set([...CONFIG_VARIABLES, 'DEV_API_KEY'])
  for (const [name, service] of Object.entries(services)) {
    for (const variable of Object.keys((service.environment ?? {}) as Json)) {
      t.ok(known.has(variable) || variable.startsWith('EMULATOR_'), `${name}: ${variable} is in the config schema`)
    }
  }
  // and the values, with compose's defaults, are ones the proxy accepts
  const environment = Object.fromEntries(Object.entries(services.proxy!.environment as Json).map(([k, v]) => [k, composeDefault(v)]))
  const config = loadConfig({ ...environment, VOLC_ACCESS_KEY_ID_FILE: undefined, VOLC_SECRET_ACCESS_KEY_FILE: undefined }, { dotenvPath: false })
  t.equal(config.trustProxy, 1)
  t.same(config.corsOrigins, [], 'an empty CORS_ORIGINS is unset')
  t.doesNotThrow(() => emulatorOptionsFromEnv(Object.fromEntries(Object.entries(services.emulator!.environment as Json).map(([k, v]) => [k, composeDefault(v)]))))
})

test('secrets come from files: each *_FILE points at a secret the service mounts; the dev secrets match the emulator', async (t) => {
  const proxy = services.proxy!
  const mounted = (proxy.secrets as Array<string | { source: string, target?: string }>)
    .map((secret) => typeof secret === 'string' ? { source: secret, target: secret } : { source: secret.source, target: secret.target ?? secret.source })
  for (const [variable, value] of Object.entries(proxy.environment as Json)) {
    if (!variable.endsWith('_FILE') && variable !== 'API_KEYS_FILE') continue
    const secret = mounted.find((m) => `/run/secrets/${m.target}` === value)
    t.ok(secret, `${variable} is a mounted secret`)
    t.ok(compose.secrets[secret?.source ?? ''], `${secret?.source} is declared`)
    t.match(compose.secrets[secret?.source ?? '']?.file, /^\$\{SECRETS_DIR:-\.\/deploy\/secrets\}\//)
  }
  t.notOk(Object.keys(proxy.environment as Json).some((name) => /^VOLC_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(name)), 'no credential in the environment')
  t.match(read('deploy/secrets/.gitignore'), /^\*$/m, 'production secrets are never committed')

  const emulator = emulatorOptionsFromEnv({})
  t.equal(read('deploy/dev-secrets/volc_access_key_id').trim(), emulator.accessKeyId)
  t.equal(read('deploy/dev-secrets/volc_secret_access_key').trim(), emulator.secretAccessKey)
  const keys = JSON.parse(read('deploy/dev-secrets/api_keys.json')) as { keys: Array<{ sha256: string }> }
  t.equal(keys.keys[0]?.sha256, sha256Hex('dev-key'), 'the dev keys file accepts dev-key')
})

test('the stop grace period is longer than the drain and the shutdown timeout; the drain outlasts the balancer\'s checks', async (t) => {
  const environment = services.proxy!.environment as Record<string, string>
  const config = loadConfig(Object.fromEntries(Object.entries(environment).filter(([name]) => name.startsWith('SHUTDOWN_'))), { dotenvPath: false })
  const graceMs = durationMs(services.proxy!.stop_grace_period as string)
  const totalMs = config.shutdownDrainMs + config.shutdownTimeoutMs
  t.ok(graceMs > totalMs, `stop_grace_period ${graceMs} ms > SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS ${totalMs} ms`)
  const check = /default-server check inter (\d+)s fall (\d+)/.exec(read('deploy/haproxy.cfg'))
  t.ok(check, 'the balancer\'s check interval and fall')
  t.ok(config.shutdownDrainMs > Number(check![1]) * 1000 * Number(check![2]), 'a draining replica is out of rotation before it stops listening')
  t.equal(durationMs('1m30s'), 90_000)
})

test('every config variable is in .env.example and in the README', async (t) => {
  const example = read('.env.example')
  const readme = read('README.md')
  for (const variable of CONFIG_VARIABLES) {
    t.match(example, new RegExp(`^# ${variable}=`, 'm'), `.env.example: ${variable}`)
    t.ok(readme.includes(`\`${variable}\``), `README.md: ${variable}`)
  }
})

test('the Dockerfile: multi-stage, production dependencies only, non-root, a node health check, node as the command', async (t) => {
  const lines = dockerfile()
  const stages = lines.filter((l) => l.instruction === 'FROM')
  t.ok(stages.length >= 2, 'multi-stage')
  t.match(read('Dockerfile'), /^ARG NODE_IMAGE=node:24-slim@sha256:[0-9a-f]{64}$/m, 'the current Node LTS, pinned to a digest')
  t.equal(/^ARG NODE_IMAGE=(\S+)$/m.exec(read('Dockerfile'))?.[1], composeDefault(services.proxy!.build.args.NODE_IMAGE), 'the same image as compose builds with')
  const runtime = lines.slice(lines.lastIndexOf(stages.at(-1)!))
  t.ok(runtime.some((l) => l.instruction === 'RUN' && /npm ci --omit=dev/.test(l.args)), 'npm ci --omit=dev in the runtime stage')
  const user = runtime.filter((l) => l.instruction === 'USER').at(-1)
  t.ok(user !== undefined && !/^(root|0)$/.test(user.args), 'a non-root user')
  const healthcheck = runtime.find((l) => l.instruction === 'HEALTHCHECK')
  t.match(healthcheck?.args, /CMD \["node", "-e", .*\/healthz/)
  t.notOk(lines.some((l) => /\b(curl|wget)\b/.test(l.args)), 'no curl or wget')
  t.ok(runtime.some((l) => l.instruction === 'COPY' && /openapi\.yaml/.test(l.args)), 'the runtime has openapi.yaml (GET /openapi.yaml)')
  t.ok(runtime.some((l) => l.instruction === 'ENV' && /^MALLOC_ARENA_MAX=2$/.test(l.args)), 'two malloc arenas, as npm start sets')

  const command = JSON.parse(runtime.filter((l) => l.instruction === 'CMD').at(-1)!.args) as string[]
  t.same(command, ['node', 'dist/server.js'], 'exec form: SIGTERM reaches node')
  t.ok(existsSync(new URL(command[1]!, root)), `${command[1]} exists after npm run build`)
  t.ok(existsSync(new URL(services.emulator!.command[1], root)), `${services.emulator!.command[1]} exists after npm run build`)
  const ignored = read('.dockerignore').split('\n')
  for (const entry of ['node_modules', 'dist', '.env', 'deploy', '.git']) t.ok(ignored.includes(entry), `.dockerignore: ${entry}`)
})

test('the load balancer routes on /readyz/serving and reaches the replicas on their PORT', async (t) => {
  const haproxy = read('deploy/haproxy.cfg')
  t.match(haproxy, /option httpchk GET \/readyz\/serving\n/)
  t.match(haproxy, new RegExp(`server-template \\w+ \\d+ proxy:${services.proxy!.environment.PORT as string}\\b`))
  t.match(haproxy, /http-request set-header X-Forwarded-For %\[src\]/, 'the client cannot choose its address')
  const published = String(services.lb!.ports[0]).split(':').at(-1)
  t.match(haproxy, new RegExp(`bind :${published}\\b`))
})

test('compose: every service has its log rotated and its CPU and memory limited; Redis has a maxmemory with volatile-lru; images can be pinned', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    t.match(service.logging, { driver: 'json-file', options: { 'max-size': String, 'max-file': String } }, `${name}: log rotation`)
    t.match(service.deploy?.resources?.limits, { cpus: String, memory: String }, `${name}: CPU and memory limits`)
  }
  const command = services.redis!.command as string[]
  t.ok(command.includes('--maxmemory'), 'redis: a maxmemory')
  t.equal(command[command.indexOf('--maxmemory-policy') + 1], 'volatile-lru', 'redis: evicts only keys that expire (usage keys do not)')
  for (const name of ['lb', 'redis']) t.match(services[name]!.image, /^\$\{[A-Z_]+_IMAGE:-[\w.:-]+@sha256:[0-9a-f]{64}\}$/, `${name}: pinned to a digest, overridable`)
  t.match(services.proxy!.build.args.NODE_IMAGE, /^\$\{NODE_IMAGE:-node:\d+-slim@sha256:[0-9a-f]{64}\}$/, 'proxy: the Node base image too')
  t.match(read('docker-compose.yml'), /docker buildx imagetools inspect/, 'how to find a digest is written down')
})
