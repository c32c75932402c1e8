// One log line per request, errors included; probes at debug; the client's address on the line.
import { test } from 'tap'
import { request } from 'undici'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('an error answer is one line, with its code, message and address; probes stay out of an info log', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const refused = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { 'x-request-id': 'one-line', 'content-type': 'application/json', authorization: 'Bearer spk_nobody' }, body: '{}' })
  await refused.body.dump()
  t.equal(refused.statusCode, 401)
  for (const path of ['/healthz', '/readyz', '/metrics']) await (await request(`${proxy.url}${path}`)).body.dump()
  await new Promise((resolve) => setImmediate(resolve))
  const lines = proxy.logs.filter((line) => line.requestId === 'one-line')
  t.equal(lines.length, 1, 'one line for the request')
  t.match(lines[0], { msg: 'request completed', statusCode: 401, errorCode: 'UNAUTHORIZED', errorMessage: /valid API key/, ip: '127.0.0.1' })
  t.notOk(proxy.logs.some((line) => /^\/(healthz|readyz|metrics)$/.test(String(line.path))), 'probes are logged at debug only')
})

test('at debug, probes are logged too', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { LOG_LEVEL: 'debug' } })
  await (await request(`${proxy.url}/healthz`)).body.dump()
  await new Promise((resolve) => setImmediate(resolve))
  t.match(proxy.logs.find((line) => line.path === '/healthz'), { level: 20, msg: 'request completed', statusCode: 200 })
})
