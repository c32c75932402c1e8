// Even at LOG_LEVEL=trace, where plugins log whole header sets, no client key reaches the log.
import { test } from 'tap'
import { FormData, request } from 'undici'
import { DEFAULT_KEYS, photo, startEmulator, startProxy } from '../fixtures/harness.js'

test('a trace-level log of multipart requests (Bearer and X-API-Key) holds no Authorization or X-API-Key value', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { LOG_LEVEL: 'trace' } })
  const [bearer, header] = [DEFAULT_KEYS[0]!.key, DEFAULT_KEYS[1]!.key]
  for (const headers of [{ authorization: `Bearer ${bearer}` }, { 'x-api-key': header }]) {
    const form = new FormData()
    form.append('image', new Blob([await photo(1024, 768)]), 'photo.jpg')
    const response = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { ...headers, accept: 'image/jpeg' }, body: form })
    await response.body.dump()
    t.equal(response.statusCode, 200)
  }
  t.ok(proxy.logs.some((line) => line.level === 10), 'trace lines were written')
  t.ok(/busboyOptions/.test(proxy.logText()), 'including the multipart plugin\'s header dump')
  t.notMatch(proxy.logText(), bearer)
  t.notMatch(proxy.logText(), header)
})
