// A request refused before its body is read (401, 429, 503) must not leave the socket stuck.
import { test } from 'tap'
import { Client } from 'undici'
import { DEFAULT_KEYS, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('a large body refused unread: the client gets the answer, then a new request is served, and close is prompt', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const client = new Client(proxy.url, { pipelining: 1, connections: 1 } as never)
  t.teardown(async () => { await client.destroy() })
  const big = JSON.stringify({ image_base64: Buffer.alloc(3_000_000, 7).toString('base64') })
  const refused = await client.request({ method: 'POST', path: '/stylize', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: big })
  t.equal(refused.statusCode, 401)
  await refused.body.dump()
  const next = await client.request({ method: 'GET', path: '/presets', headers: { authorization: `Bearer ${DEFAULT_KEYS[0]!.key}` }, headersTimeout: 5000 })
  t.equal(next.statusCode, 200, 'the next request is answered')
  await next.body.dump()
  const started = Date.now()
  await proxy.app.close()
  t.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`)
})

test('a multipart upload refused unread does not hold up close', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const { FormData, request } = await import('undici')
  const form = new FormData()
  form.append('image', new Blob([Buffer.alloc(300_000, 1)]), 'a.jpg')
  const refused = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: form })
  t.equal(refused.statusCode, 401)
  await refused.body.dump()
  const started = Date.now()
  await proxy.app.close()
  t.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`)
})
