// Starts the servers a scenario needs as child processes: the built proxy (`node dist/server.js`, as
// `npm start` runs it), the emulator (dist), the zero-work upstream, the bare fastify route and the naive
// signing proxy.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { EMULATOR_AK, EMULATOR_SK } from '../test/fixtures/harness.js'
import { writeBenchKeys } from './fixtures.js'
import { ROOT, startChild, type ChildServer } from './processes.js'

export interface BenchContext {
  /** where logs, keys, canned answers and profiles go */
  workDir: string
  /** prints one progress line */
  note: (line: string) => void
  /** set on every proxy started (`--proxy-env NAME=VALUE`): to try a setting under the same load */
  proxyEnv?: Record<string, string>
}

const SERVER_JS = join(ROOT, 'dist', 'server.js')
const EMULATOR_JS = join(ROOT, 'dist', 'emulator', 'main.js')

export function assertBuilt (): void {
  if (!existsSync(SERVER_JS) || !existsSync(EMULATOR_JS)) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does)')
  }
}

export async function startProxyProcess (
  context: BenchContext, name: string, upstreamUrl: string, env: Record<string, string> = {}, nodeFlags: string[] = []
): Promise<ChildServer> {
  return await startChild({
    script: SERVER_JS,
    logFile: join(context.workDir, `${name}.log`),
    nodeFlags,
    env: {
      VOLC_ACCESS_KEY_ID: EMULATOR_AK,
      VOLC_SECRET_ACCESS_KEY: EMULATOR_SK,
      UPSTREAM_URL: upstreamUrl,
      API_KEYS_FILE: writeBenchKeys(context.workDir),
      RATE_LIMIT_MAX: '1000000000',
      LOG_LEVEL: 'info',
      // as `npm start` and the Dockerfile set it
      MALLOC_ARENA_MAX: '2',
      ...env,
      ...context.proxyEnv
    }
  })
}

/** The `ms` of each request that the proxy started as `name` logged answering with `status`. */
export function proxyLoggedMs (context: BenchContext, name: string, status: number): number[] {
  return readFileSync(join(context.workDir, `${name}.log`), 'utf8').split('\n').flatMap((line) => {
    let entry: { statusCode?: number, ms?: number }
    try {
      entry = JSON.parse(line) as typeof entry
    } catch {
      return [] // not a log line, or the last one still being written
    }
    return entry.statusCode === status && typeof entry.ms === 'number' ? [entry.ms] : []
  })
}

export async function startEmulatorProcess (context: BenchContext, name: string, env: Record<string, string> = {}): Promise<ChildServer> {
  return await startChild({
    script: EMULATOR_JS,
    logFile: join(context.workDir, `${name}.log`),
    readyPath: '/',
    env: { EMULATOR_ACCESS_KEY_ID: EMULATOR_AK, EMULATOR_SECRET_ACCESS_KEY: EMULATOR_SK, LOG_LEVEL: 'warn', ...env }
  })
}

export async function startUpstreamProcess (context: BenchContext, name: string, replyFile: string, latencyMs = 0): Promise<ChildServer> {
  return await startChild({
    script: join(ROOT, 'bench', 'servers', 'upstream.ts'),
    logFile: join(context.workDir, `${name}.log`),
    readyPath: '/',
    env: { REPLY_FILE: replyFile, LATENCY_MS: String(latencyMs) }
  })
}

export async function startBareProcess (context: BenchContext, replyFile: string): Promise<ChildServer> {
  return await startChild({
    script: join(ROOT, 'bench', 'servers', 'bare.ts'),
    logFile: join(context.workDir, 'bare.log'),
    env: { REPLY_FILE: replyFile }
  })
}

export async function startNaiveProcess (context: BenchContext, name: string, upstreamUrl: string): Promise<ChildServer> {
  return await startChild({
    script: join(ROOT, 'bench', 'servers', 'naive.ts'),
    logFile: join(context.workDir, `${name}.log`),
    env: { UPSTREAM_URL: upstreamUrl }
  })
}

/** { calls, inFlight, maxInFlight } of the emulator (/_emulator/stats) or the zero-work upstream (/_stats). */
export async function upstreamStats (url: string, path = '/_emulator/stats'): Promise<{ calls: number, inFlight: number, maxInFlight: number }> {
  const response = await request(url + path)
  return await response.body.json() as { calls: number, inFlight: number, maxInFlight: number }
}

/** Stops every server given, whatever happened. */
export async function stopAll (...servers: Array<ChildServer | undefined>): Promise<void> {
  await Promise.all(servers.map(async (server) => await server?.stop()))
}
