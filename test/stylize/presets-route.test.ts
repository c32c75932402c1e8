import { test } from 'tap'
import { request } from 'undici'
import { DEFAULT_KEYS, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

test('GET /presets lists what the key may use, with parameters', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const all = await request(`${proxy.url}/presets`, { headers: { authorization: `Bearer ${DEFAULT_KEYS[0]!.key}` } })
  t.equal(all.statusCode, 200)
  const body = await all.body.json() as { presets: Array<{ name: string, default: boolean, parameters: Record<string, unknown> }>, allowPrompt: boolean }
  t.same(body.presets.map((p) => p.name).sort(), ['angel', 'angel-soft'])
  t.equal(body.presets.find((p) => p.name === 'angel')?.default, true)
  t.match(body.presets.find((p) => p.name === 'angel-soft')?.parameters, { strength: 0.9, prompt: /white statue/ })
  t.equal(body.allowPrompt, false)

  const soft = await request(`${proxy.url}/presets`, { headers: { 'x-api-key': DEFAULT_KEYS[2]!.key } })
  t.same(((await soft.body.json()) as typeof body).presets.map((p) => p.name), ['angel-soft'])

  const none = await request(`${proxy.url}/presets`)
  t.equal(none.statusCode, 401)
  t.match(await none.body.json(), { code: 'UNAUTHORIZED', error: 'Unauthorized' })
})

test('health and unknown routes', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const health = await request(`${proxy.url}/healthz`)
  t.equal(health.statusCode, 200)
  t.same(await health.body.json(), { status: 'ok' })
  const missing = await request(`${proxy.url}/nope?key=secret`)
  t.equal(missing.statusCode, 404)
  const body = await missing.body.json() as Record<string, unknown>
  t.match(body, { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', requestId: String })
  t.notMatch(String(body.message), /secret/)
})
