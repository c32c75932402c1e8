// Against slow clients: the whole request within REQUEST_TIMEOUT_MS (120 s), its headers within 30 s; idle
// keep-alive bounded. What Node's server refuses itself is answered with the contract's 400 and code.
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'tap'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'
import { until } from '../redis/fixtures/redis.js'
import { WEB_KEY } from '../upstream/fixtures/client.js'

test('the HTTP server bounds slow clients', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const server = proxy.app.server
  t.equal(server.requestTimeout, 120_000)
  t.equal(server.headersTimeout, 30_000)
  t.ok(server.keepAliveTimeout > 0 && server.keepAliveTimeout <= 120_000, 'idle kept-alive sockets are closed')
})

/** Writes raw bytes and collects whatever comes back until the server closes the socket. */
async function rawExchange (url: string, text: string): Promise<string> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  await once(socket, 'connect')
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += String(chunk) })
  socket.on('error', () => {})
  socket.write(text)
  await once(socket, 'close')
  return answer
}

test('a body that never arrives in full is answered 400 INVALID_REQUEST with a request id, logged at info', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { REQUEST_TIMEOUT_MS: '1000' } })
  const answer = await rawExchange(proxy.url, `POST /stylize HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${WEB_KEY}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"image_base64":"')
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/)
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
  t.match(body, { statusCode: 400, code: 'INVALID_REQUEST', message: /did not arrive in full within 1 s/, requestId: String })
  t.equal(upstream.requests.length, 0)
  await until(() => proxy.logs.some((line) => line.msg === 'request refused by the HTTP server'), 5000, 'the log line')
  t.match(proxy.logs.find((line) => line.msg === 'request refused by the HTTP server'), { level: 30, reason: 'ERR_HTTP_REQUEST_TIMEOUT', requestId: body.requestId })
})

test('a request that is not HTTP is answered 400 INVALID_REQUEST too', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const answer = await rawExchange(proxy.url, 'HELLO THERE\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(answer, /"code":"INVALID_REQUEST"/)
})
