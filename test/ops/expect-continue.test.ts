// Refusals before the body: the answer goes out at once, whatever is left of the upload. A client that asks
// `Expect: 100-continue` gets its go-ahead only once it has passed every check that needs no body, so a
// refused one never sends its photo; one that sends anyway is read to the end, so that it gets its answer.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'tap'
import { DEFAULT_KEYS, photo, startEmulator, startHeldUpstream, startProxy, tempDir } from '../fixtures/harness.js'

const KEY = DEFAULT_KEYS[0]!.key

interface RawClient { socket: Socket, text: () => string, closed: Promise<unknown>, until: (pattern: RegExp) => Promise<void>, errors: string[] }

/** A socket that has sent a POST's head (nothing of its body yet) and records what comes back. */
async function postHead (url: string, headers: Record<string, string>, path = '/stylize'): Promise<RawClient> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  await once(socket, 'connect')
  let text = ''
  const waiting: Array<{ pattern: RegExp, resolve: () => void }> = []
  socket.on('data', (chunk: Buffer) => {
    text += String(chunk)
    for (const wait of waiting.filter((w) => w.pattern.test(text))) { waiting.splice(waiting.indexOf(wait), 1); wait.resolve() }
  })
  const errors: string[] = []
  socket.on('error', (error: NodeJS.ErrnoException) => { errors.push(error.code ?? 'error') })
  const closed = once(socket, 'close')
  const head = Object.entries({ host: 'proxy', 'content-type': 'application/json', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`)
  const until = async (pattern: RegExp): Promise<void> => {
    if (pattern.test(text)) return
    await new Promise<void>((resolve) => { waiting.push({ pattern, resolve }) })
  }
  return { socket, text: () => text, closed, until, errors }
}

const FINAL_ANSWER = /HTTP\/1\.1 [2-5]\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n\{[^}]*\}/

async function photoBody (): Promise<Buffer> {
  return Buffer.from(JSON.stringify({ image_base64: (await photo(1200, 1600)).toString('base64') }))
}

test('Expect: 100-continue without a key: 401 and the connection closed, no go-ahead, no body sent', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const client = await postHead(proxy.url, { expect: '100-continue', 'content-length': String(2_000_000) })
  await client.closed
  t.match(client.text(), /^HTTP\/1\.1 401 /)
  t.notMatch(client.text(), /100 Continue/)
  t.match(client.text(), /\r\nconnection: close\r\n/i)
  t.match(client.text(), /"code":"UNAUTHORIZED"/)
  t.equal(emulator.app.emulatorStats.calls, 0)
})

test('Expect: 100-continue with the line full: 503 before the go-ahead; with room: 100 Continue, then served', async (t) => {
  const upstream = await startHeldUpstream(t, { firstOnly: true })
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_CONCURRENCY: '1', UPSTREAM_QUEUE_MAX: '0', RATE_LIMIT_MAX: '1000' } })
  const body = await photoBody()
  const headers = { authorization: `Bearer ${KEY}`, 'content-length': String(body.length), expect: '100-continue' }

  // the one slot taken by a call the upstream holds
  const first = await postHead(proxy.url, headers)
  await first.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
  first.socket.write(body)
  await upstream.reached

  // the place in line is asked before the go-ahead: a refused client is told so instead
  const refused = await postHead(proxy.url, headers)
  await refused.closed
  t.match(refused.text(), /^HTTP\/1\.1 503 /, 'no 100 Continue before the refusal')
  t.match(refused.text(), /"code":"UPSTREAM_BUSY"/)
  t.match(refused.text(), /\r\nretry-after: \d+\r\n/i)
  t.match(refused.text(), /\r\nconnection: close\r\n/i)

  upstream.release()
  await first.until(FINAL_ANSWER)
  t.match(first.text(), /\r\n\r\nHTTP\/1\.1 200 /, 'the first is served after its go-ahead')

  // the expectation as Node reads it, in any case
  const next = await postHead(proxy.url, { ...headers, expect: '100-Continue' })
  await next.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
  next.socket.write(body)
  await next.until(FINAL_ANSWER)
  t.match(next.text(), /\r\n\r\nHTTP\/1\.1 200 /)
  t.equal(upstream.requests.length, 2, 'the refused one never reached the upstream')
})

test('refused without Expect: the answer comes before the upload ends, and the connection stays usable once it does', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const body = await photoBody()
  const client = await postHead(proxy.url, { 'content-length': String(body.length) })
  client.socket.write(body.subarray(0, 1024))
  await client.until(FINAL_ANSWER)
  t.match(client.text(), /^HTTP\/1\.1 401 /, 'answered with most of the body unsent')
  t.notMatch(client.text(), /\r\nconnection: close\r\n/i, 'the connection is kept for the rest of the body')

  // the rest of the body is read and dropped; the next request on the same socket is answered
  client.socket.write(body.subarray(1024))
  client.socket.write('GET /healthz HTTP/1.1\r\nhost: proxy\r\n\r\n')
  await client.until(/HTTP\/1\.1 200 /)
  t.match(client.text(), /"code":"UNAUTHORIZED"[\s\S]*HTTP\/1\.1 200 /)
  client.socket.end()
})

test('refused without Expect, then the client stops sending: the connection is cut after a while, the answer already out', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const client = await postHead(proxy.url, { 'content-length': String(2_000_000) })
  client.socket.write('{"image_base64":"')
  await client.until(FINAL_ANSWER)
  t.match(client.text(), /^HTTP\/1\.1 401 /)
  t.notMatch(client.text(), /\r\nconnection: close\r\n/i, 'answered at once, not when the proxy gave up on the body')
  await client.closed
  t.pass('closed by the proxy')
})

test('curl, which asks Expect: 100-continue: a refused upload sends no byte of its body, an accepted one is served', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const file = join(tempDir(), 'body.json')
  writeFileSync(file, await photoBody())
  const curl = async (...headers: string[]): Promise<string> => {
    const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-H', 'content-type: application/json', '-H', 'expect: 100-continue',
      ...headers.flatMap((header) => ['-H', header]), '--data-binary', `@${file}`, `${proxy.url}/stylize`]
    return (await promisify(execFile)('curl', args)).stdout
  }
  t.equal(await curl(), '401 0', 'refused: nothing uploaded')
  t.match(await curl(`authorization: Bearer ${KEY}`), /^200 [1-9]\d+$/, 'accepted: the photo uploaded and served')
  t.equal(emulator.app.emulatorStats.calls, 1)
})

test('Expect: 100-continue refused before the go-ahead by what needs no body: a path that does not exist, a declared length over the limit, a type not accepted', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const auth = { authorization: `Bearer ${KEY}`, expect: '100-continue' }
  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ['/no-such-path', { ...auth, 'content-length': '1000' }, 'NOT_FOUND', /^HTTP\/1\.1 404 /],
    ['/stylize', { ...auth, 'content-length': String(500_000_000) }, 'PAYLOAD_TOO_LARGE', /^HTTP\/1\.1 413 /],
    ['/stylize', { ...auth, 'content-length': '1000', 'content-type': 'text/csv' }, 'UNSUPPORTED_MEDIA_TYPE', /^HTTP\/1\.1 415 /]
  ]
  for (const [path, headers, code, status] of cases) {
    const client = await postHead(proxy.url, headers, path)
    await client.closed
    t.match(client.text(), status, `${code}: answered`)
    t.notMatch(client.text(), /100 Continue/, `${code}: no go-ahead first`)
    t.match(client.text(), new RegExp(`"code":"${code}"`))
  }
  t.equal(emulator.app.emulatorStats.calls, 0)
})

test('an answer that closes the connection (Connection: close) while the upload goes on: the answer arrives, the rest is read, no reset', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const body = await photoBody()
  const client = await postHead(proxy.url, { 'content-length': String(body.length), connection: 'close' })
  client.socket.write(body.subarray(0, 1024))
  await client.until(FINAL_ANSWER)
  t.match(client.text(), /^HTTP\/1\.1 401 /)
  t.match(client.text(), /\r\nconnection: close\r\n/i)
  // the proxy has answered and will close, but reads what is still coming rather than reset the connection
  for (let at = 1024; at < body.length; at += 65_536) client.socket.write(body.subarray(at, at + 65_536))
  client.socket.end()
  await client.closed
  t.same(client.errors, [], 'no reset, no broken pipe')
})

test('Expect: 100-continue from a client that sends its body without waiting: refused, and its body read rather than reset', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const body = await photoBody()
  const client = await postHead(proxy.url, { 'content-length': String(body.length), expect: '100-continue' })
  client.socket.write(body.subarray(0, 1024))
  await client.until(FINAL_ANSWER)
  t.match(client.text(), /^HTTP\/1\.1 401 /)
  t.notMatch(client.text(), /100 Continue/)
  // still sending when the refusal comes: what follows is read, not answered with a reset
  for (let at = 1024; at < body.length; at += 65_536) client.socket.write(body.subarray(at, at + 65_536))
  client.socket.end()
  await client.closed
  t.same(client.errors, [], 'no reset, no broken pipe')
})
