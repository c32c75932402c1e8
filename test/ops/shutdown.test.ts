// SIGTERM on the compiled server (`npm start`): requests in flight and queued finish, readiness and new
// requests on kept-alive sockets are refused, and the process exits 0; past the deadline, 503s.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'tap'
import { request } from 'undici'
import { EMULATOR_AK, EMULATOR_SK, startEmulator, startHeldUpstream, writeKeysFile } from '../fixtures/harness.js'
import { WEB_KEY, eventually, metricsText, seriesValue, stylize } from '../upstream/fixtures/client.js'

const SERVER = new URL('../../dist/server.js', import.meta.url).pathname

async function startServer (t: { teardown: (fn: () => void) => void }, upstreamUrl: string, env: Record<string, string>) {
  const keysFile = writeKeysFile([{ id: 'web-app', key: WEB_KEY }])
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', VOLC_ACCESS_KEY_ID: EMULATOR_AK, VOLC_SECRET_ACCESS_KEY: EMULATOR_SK, API_KEYS_FILE: keysFile, UPSTREAM_URL: upstreamUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += String(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { out += String(chunk) })
  t.teardown(() => { child.kill('SIGKILL') })
  let url: string | undefined
  await eventually(() => (url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]) !== undefined, 20_000)
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return { url: url as string, child, exited, log: () => out }
}

/** A request whose headers are sent in two parts, so its socket is busy (not idle) when shutdown begins. */
async function halfSent (url: string, head: string, rest: string) {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += String(chunk) })
  socket.on('error', (error) => { text += `\n[${(error as NodeJS.ErrnoException).code ?? 'error'}]` })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(head)
  return {
    finish: async (): Promise<string> => {
      if (!socket.destroyed) socket.write(rest)
      await closed
      return text
    }
  }
}

function statusOf (raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])
}

test('SIGTERM: in-flight and queued requests finish, later ones are refused, the process exits 0', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 800 })
  const server = await startServer(t, emulator.url, { UPSTREAM_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_MS: '20000' })
  // refused before its body is read: a small one, so that the refusal is not cut short by a reset
  const body = JSON.stringify({ image_url: 'http://127.0.0.1:1/x.jpg' })

  // opened and partly sent first: the server reads these bytes while the test waits for the queue below,
  // so at SIGTERM they are requests in progress, not idle sockets (which close() may drop)
  const readiness = await halfSent(server.url, 'GET /readyz HTTP/1.1\r\nHost: proxy\r\n', '\r\n')
  const late = await halfSent(server.url, `POST /stylize HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${WEB_KEY}\r\n`,
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  const clients = Array.from({ length: 3 }, async () => await stylize(server.url))
  await eventually(async () => seriesValue(await metricsText(server.url), 'stylize_upstream_queue_depth') === 2, 10_000)
  const signalled = Date.now()
  server.child.kill('SIGTERM')
  await eventually(() => server.log().includes('shutting down: finishing the requests in flight'))

  // no new connections
  await t.rejects(request(`${server.url}/healthz`), 'the listening socket is closed')
  const readyRaw = await readiness.finish()
  t.equal(statusOf(readyRaw), 503, '/readyz: 503 at once')
  t.match(readyRaw, /"reasons":\["shutting down"\]/)
  const lateRaw = await late.finish()
  t.equal(statusOf(lateRaw), 503, 'a request arriving on an open socket is refused')
  t.match(lateRaw, /"code":"UPSTREAM_BUSY"/)
  t.match(lateRaw, /retry-after: 1/i)
  t.match(lateRaw, /connection: close/i)

  for (const answer of await Promise.all(clients)) t.equal(answer.status, 200, 'a queued or in-flight request finished')
  t.equal(await server.exited, 0)
  t.ok(Date.now() - signalled < 20_000, 'within SHUTDOWN_TIMEOUT_MS')
  t.equal(emulator.app.emulatorStats.calls, 3, 'every request admitted before SIGTERM was served, no other')
})

test('SIGTERM: at the deadline queued requests are refused 503 (never sent), a call already sent still finishes', async (t) => {
  // the upstream holds the call until the test has seen the deadline pass (at 8 s; the cut would be at 9 s)
  const upstream = await startHeldUpstream(t)
  const server = await startServer(t, upstream.url, { UPSTREAM_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_MS: '10000' })
  const clients = Array.from({ length: 3 }, async () => await stylize(server.url))
  await eventually(async () => seriesValue(await metricsText(server.url), 'stylize_upstream_queue_depth') === 2, 10_000)
  server.child.kill('SIGTERM')
  await eventually(() => server.log().includes('shutdown deadline: refusing what has not started'), 15_000)
  upstream.release()
  const answers = await Promise.all(clients)
  t.same(answers.map((answer) => answer.status).sort(), [200, 503, 503], 'the sent call answered 200, the queued ones 503')
  for (const answer of answers.filter((a) => a.status === 503)) {
    t.equal(answer.json.code, 'UPSTREAM_BUSY')
    t.ok(Number(answer.headers['retry-after']) >= 1, 'never sent: retry elsewhere')
  }
  t.equal(await server.exited, 0)
  t.equal(upstream.requests.length, 1, 'the queued requests never reached the upstream')
  t.notMatch(server.log(), /cutting the calls still running/, 'nothing had to be cut')
})

test('SIGTERM: a call still running at the last moment is cut with 502 (it may have been billed), never a 503 "retry"', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 5000 })
  const server = await startServer(t, emulator.url, { UPSTREAM_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_MS: '2000' })
  const clients = Array.from({ length: 3 }, async () => await stylize(server.url))
  await eventually(async () => seriesValue(await metricsText(server.url), 'stylize_upstream_queue_depth') === 2, 10_000)
  const signalled = Date.now()
  server.child.kill('SIGTERM')
  const answers = await Promise.all(clients)
  const cut = answers.filter((answer) => answer.status === 502)
  t.equal(cut.length, 1, 'the call in flight')
  t.equal(cut[0]?.json.code, 'UPSTREAM_ERROR')
  t.match(cut[0]?.json.message, /may have been billed/)
  t.equal(cut[0]?.headers['retry-after'], undefined, 'no invitation to pay again')
  const refused = answers.filter((answer) => answer.status === 503)
  t.equal(refused.length, 2, 'the queued ones')
  for (const answer of refused) t.equal(answer.json.code, 'UPSTREAM_BUSY')
  t.equal(await server.exited, 0)
  t.ok(Date.now() - signalled < 4000, 'answered and gone by the deadline')
  t.equal(emulator.app.emulatorStats.calls, 1, 'the queued requests never reached the upstream')
  t.match(server.log(), /cutting the calls still running/)
  t.notMatch(server.log(), /"notCalled":"shutting_down"[^\n]*"statusCode":502/, 'the cut call is not logged as "not called"')
})
