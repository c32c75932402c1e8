// Servers under test run as child processes with the probe preloaded, so that their RSS, CPU and
// event-loop delay are their own, not the load generator's.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PROBE = fileURLToPath(new URL('./probe.mjs', import.meta.url))

export interface ProbeSample {
  lagMs: { p50: number, p99: number, max: number, mean: number }
  rssBytes: number
  heapUsedBytes: number
  externalBytes: number
  peakRssBytes: number
  cpuMs: number
}

export interface ChildServer {
  url: string
  pid: number
  /** zeroes the event-loop histogram, the peak RSS and the CPU counter */
  reset: () => Promise<void>
  /** gc: collect garbage first (the child runs with --expose-gc) */
  sample: (options?: { gc?: boolean }) => Promise<ProbeSample>
  /** starts the V8 CPU profiler in the child */
  profileStart: () => Promise<void>
  /** stops it and writes the .cpuprofile to `path` */
  profileStop: (path: string) => Promise<void>
  /** SIGTERM, and the exit code once it has exited */
  stop: () => Promise<number | null>
}

export interface ChildOptions {
  /** a script: `.js` runs on plain node, `.ts` through tsx */
  script: string
  env: Record<string, string>
  /** where the child's stdout (its log lines) goes */
  logFile: string
  /** extra node flags, e.g. --cpu-prof */
  nodeFlags?: string[]
  /** the path answering 200 once the server is ready */
  readyPath?: string
}

/** A port that was free a moment ago (the child listens on it; loopback only). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export async function startChild (options: ChildOptions): Promise<ChildServer> {
  const port = await freePort()
  const out = openSync(options.logFile, 'w')
  const loader = options.script.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, '--import', PROBE, '--expose-gc', ...(options.nodeFlags ?? []), options.script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', out, 'pipe', 'ipc']
  })
  closeSync(out)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  try {
    await waitReady(url + (options.readyPath ?? '/healthz'), child)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${options.script} did not start: ${(error as Error).message}\n${stderr}`)
  }
  return {
    url,
    pid: child.pid as number,
    reset: async () => { await ask(child, { type: 'reset' }) },
    profileStart: async () => { await ask(child, { type: 'profile-start' }) },
    profileStop: async (path) => { await ask(child, { type: 'profile-stop', path }) },
    sample: async (sampleOptions = {}) => await ask(child, { type: 'sample', gc: sampleOptions.gc === true }) as unknown as ProbeSample,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

async function waitReady (url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`)
    try {
      const response = await request(url)
      await response.body.dump()
      if (response.statusCode === 200) return
    } catch {}
    await sleep(50)
  }
  throw new Error('not ready within 30 s')
}

async function ask (child: ChildProcess, message: { type: string, gc?: boolean, path?: string }): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('the probe did not answer')) }, 30_000)
    const onMessage = (answer: Record<string, unknown>): void => {
      if (answer.type !== message.type) return
      cleanup()
      resolve(answer)
    }
    const cleanup = (): void => { clearTimeout(timer); child.off('message', onMessage) }
    child.on('message', onMessage)
    child.send(message)
  })
}
