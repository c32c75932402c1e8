// Load generators over undici: one request after another (latency), a closed loop of N connections
// (throughput), a burst of N at once (in-flight capacity) and an open loop at a steady rate (soak). undici
// refuses `Expect: 100-continue` on HTTP/1.1, so requests that send it go over node:http.
import { request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'

export interface BenchRequest {
  /** a label for the per-kind tallies of mixed loads */
  kind?: string
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: Buffer | string
  /** sends `Expect: 100-continue` and the body only after the server's go-ahead */
  expectContinue?: boolean
}

export interface Outcome {
  kind: string
  status: number
  /** the contract's error code, for an error answer */
  code: string | undefined
  ms: number
  bytes: number
}

export interface LoadResult {
  outcomes: Outcome[]
  wallMs: number
}

function pool (origin: string, connections: number): Pool {
  // No timeouts of the client's own short of the servers' (the slow-upstream scenario waits 7 s and more).
  return new Pool(origin, { connections, pipelining: 1, headersTimeout: 600_000, bodyTimeout: 600_000, connect: { timeout: 60_000 } })
}

/** Reads an answer's body: its size, and the contract's error code when it is not a 200. */
async function readAnswer (status: number, body: AsyncIterable<unknown>): Promise<{ code: string | undefined, bytes: number }> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length
    if (status !== 200 && bytes < 65_536) chunks.push(chunk as Buffer)
  }
  if (status === 200) return { code: undefined, bytes }
  try {
    return { code: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string }).code, bytes }
  } catch {
    return { code: undefined, bytes }
  }
}

/** 0: no HTTP answer at all (reset, refused): a lost request */
function lost (kind: string, started: number, error: unknown): Outcome {
  return { kind, status: 0, code: (error as { code?: string }).code ?? 'NO_ANSWER', ms: performance.now() - started, bytes: 0 }
}

async function send (client: Pool, spec: BenchRequest, origin: string): Promise<Outcome> {
  if (spec.expectContinue === true) return await sendExpectingContinue(origin, spec)
  const started = performance.now()
  const kind = spec.kind ?? 'request'
  try {
    const response = await client.request({ method: spec.method, path: spec.path, headers: spec.headers, body: spec.body })
    const answer = await readAnswer(response.statusCode, response.body)
    return { kind, status: response.statusCode, ...answer, ms: performance.now() - started }
  } catch (error) {
    return lost(kind, started, error)
  }
}

/** One request on a connection of its own that waits for `100 Continue` before sending its body. */
async function sendExpectingContinue (origin: string, spec: BenchRequest): Promise<Outcome> {
  const started = performance.now()
  const { hostname, port } = new URL(origin)
  const kind = spec.kind ?? 'request'
  // the request's own Buffer, not a copy: 200 copies a second of a photo are the generator's whole loop
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body ?? Buffer.alloc(0)
  return await new Promise<Outcome>((resolve) => {
    const request = httpRequest({
      host: hostname,
      port,
      method: spec.method,
      path: spec.path,
      agent: false,
      headers: { ...spec.headers, 'content-length': String(body.length), expect: '100-continue' }
    })
    request.on('continue', () => { request.end(body) })
    request.on('response', (response) => {
      readAnswer(response.statusCode ?? 0, response).then((answer) => {
        resolve({ kind, status: response.statusCode ?? 0, ...answer, ms: performance.now() - started })
      }, (error: unknown) => { resolve(lost(kind, started, error)) }).finally(() => { request.destroy() })
    })
    request.on('error', (error) => { resolve(lost(kind, started, error)) })
    request.flushHeaders()
  })
}

/** One request after another, for `count` requests: the latency of a single call, no queueing. */
export async function sequential (origin: string, count: number, next: () => BenchRequest): Promise<LoadResult> {
  const client = pool(origin, 1)
  const outcomes: Outcome[] = []
  const started = performance.now()
  try {
    for (let i = 0; i < count; i++) outcomes.push(await send(client, next(), origin))
  } finally {
    await client.close()
  }
  return { outcomes, wallMs: performance.now() - started }
}

/** `connections` clients, each sending its next request as soon as the last one is answered. */
export async function closedLoop (origin: string, connections: number, durationMs: number, next: () => BenchRequest): Promise<LoadResult> {
  const client = pool(origin, connections)
  const outcomes: Outcome[] = []
  const started = performance.now()
  const until = started + durationMs
  try {
    await Promise.all(Array.from({ length: connections }, async () => {
      while (performance.now() < until) outcomes.push(await send(client, next(), origin))
    }))
  } finally {
    await client.close()
  }
  return { outcomes, wallMs: performance.now() - started }
}

/** `count` requests at once, each on its own connection; resolves when every one is answered or lost. */
export async function burst (origin: string, count: number, next: (index: number) => BenchRequest): Promise<LoadResult> {
  const client = pool(origin, count)
  const started = performance.now()
  try {
    const outcomes = await Promise.all(Array.from({ length: count }, async (_, index) => await send(client, next(index), origin)))
    return { outcomes, wallMs: performance.now() - started }
  } finally {
    await client.close()
  }
}

/** An open loop: `perSecond` requests started every second whatever the answers, for `durationMs`. */
export async function steadyRate (origin: string, perSecond: number, durationMs: number, next: (index: number) => BenchRequest, connections = 256): Promise<LoadResult> {
  const client = pool(origin, connections)
  const outcomes: Outcome[] = []
  const pending: Array<Promise<void>> = []
  const started = performance.now()
  const intervalMs = 1000 / perSecond
  try {
    for (let index = 0; ; index++) {
      const due = started + index * intervalMs
      if (due - started >= durationMs) break
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      pending.push(send(client, next(index), origin).then((outcome) => { outcomes.push(outcome) }))
    }
    await Promise.all(pending)
  } finally {
    await client.close()
  }
  return { outcomes, wallMs: performance.now() - started }
}

/** Counts by "status" or "status code" (e.g. "503 UPSTREAM_BUSY"). */
export function statusCounts (outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const outcome of outcomes) {
    const key = outcome.status === 200 ? '200' : `${outcome.status} ${outcome.code ?? ''}`.trim()
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}
