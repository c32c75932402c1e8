import { test } from 'tap'
import { request } from 'undici'
import { exceedsJsonDepth } from '../../src/stylize/json-body.js'
import { DEFAULT_KEYS, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('depth counts brackets outside strings only', async (t) => {
  t.equal(exceedsJsonDepth('{"a":[[1]]}', 3), false)
  t.equal(exceedsJsonDepth('{"a":[[[1]]]}', 3), true)
  t.equal(exceedsJsonDepth('{"a":"[[[[[[\\"[[[["}', 2), false, 'brackets and escaped quotes inside strings do not count')
  t.equal(exceedsJsonDepth('{"a":"\\\\"}', 1), false, 'an escaped backslash ends before the quote')
  t.equal(exceedsJsonDepth('{"a":"unterminated', 1), false)
})

test('a deeply nested JSON body is refused 400 before it is parsed', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const depth = 200_000
  const started = Date.now()
  const response = await request(`${proxy.url}/stylize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEFAULT_KEYS[0]!.key}` },
    body: '{"seed":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
  })
  t.equal(response.statusCode, 400)
  t.match(await response.body.json(), { code: 'INVALID_REQUEST', message: /nests deeper/ })
  t.ok(Date.now() - started < 5000)
  const poisoned = await request(`${proxy.url}/stylize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEFAULT_KEYS[0]!.key}` },
    body: '{"__proto__":{"x":1},"image_url":"https://example.com/a.jpg"}'
  })
  t.equal(poisoned.statusCode, 400)
  t.match(await poisoned.body.json(), { code: 'INVALID_REQUEST' })
  t.equal(upstream.requests.length, 0)
})
