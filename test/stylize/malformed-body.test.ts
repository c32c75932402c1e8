// Broken multipart bodies are the client's doing: the contract's 400 with its code, logged at info, never a 500.
import { connect } from 'node:net'
import { test } from 'tap'
import { DEFAULT_KEYS, startEmulator, startProxy, type Proxy } from '../fixtures/harness.js'
import { until } from '../redis/fixtures/redis.js'

const KEY = DEFAULT_KEYS[0]!.key
const PART = '--XX\r\nContent-Disposition: form-data; name="preset"\r\n\r\nangel\r\n--XX\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc'

/** Sends raw HTTP/1.1 and reads what comes back until the server closes or `hangUpMs` passes. */
async function raw (proxy: Proxy, text: string, hangUpMs?: number): Promise<{ status: number, json: Record<string, unknown> }> {
  const { port } = new URL(proxy.url)
  const answer = await new Promise<string>((resolve) => {
    let out = ''
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(text)
      if (hangUpMs !== undefined) setTimeout(() => socket.destroy(), hangUpMs)
    })
    socket.on('data', (chunk: Buffer) => {
      out += String(chunk)
      if (/\r\n\r\n\{.*\}$/s.test(out)) socket.end()
    })
    socket.on('close', () => resolve(out))
    socket.on('error', () => resolve(out))
  })
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  let json: Record<string, unknown> = {}
  try { json = JSON.parse(body) } catch {}
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), json }
}

function post (contentType: string, body: string, declaredLength = body.length): string {
  return `POST /stylize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: ${contentType}\r\nContent-Length: ${declaredLength}\r\n\r\n${body}`
}

test('multipart without a boundary, and a body cut before its closing boundary, are 400 INVALID_REQUEST', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const noBoundary = await raw(proxy, post('multipart/form-data', '0123456789'))
  t.equal(noBoundary.status, 400)
  t.match(noBoundary.json, { code: 'INVALID_REQUEST', message: /boundary/ })
  const cut = await raw(proxy, post('multipart/form-data; boundary=XX', PART))
  t.equal(cut.status, 400)
  t.match(cut.json, { code: 'INVALID_REQUEST', message: /closing boundary/ })
  t.notOk(proxy.logs.some((line) => (line.level as number) >= 50), 'no error-level line, no stack')
  t.notMatch(proxy.logText(), /"stack"/)
  t.equal(emulator.app.emulatorStats.calls, 0)
})

test('a client that disconnects mid-upload is logged at info, not as an internal error', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  await raw(proxy, post('multipart/form-data; boundary=XX', PART, PART.length + 100_000), 200)
  await until(() => proxy.logs.some((line) => line.msg === 'request aborted by the client'), 10_000, 'the line about it')
  t.match(proxy.logs.find((line) => line.msg === 'request aborted by the client'), { level: 30, path: '/stylize' })
  t.notOk(proxy.logs.some((line) => (line.level as number) >= 50), 'no error-level line')
})
