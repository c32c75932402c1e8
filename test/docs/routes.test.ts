// GET /openapi.yaml and GET /docs: public (no key, no rate limit), and the UI's assets load.
import { test } from 'tap'
import { request } from 'undici'
import { parse } from 'yaml'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'
import { loadOpenApi } from './fixtures/openapi.js'

async function proxyWithTightLimits (t: Parameters<typeof startProxy>[0]): Promise<string> {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW: '1 minute', MAX_EVENT_LOOP_DELAY_MS: '0' } })
  return proxy.url
}

test('/openapi.yaml serves the document as application/yaml, without a key or a rate limit', async (t) => {
  const url = await proxyWithTightLimits(t)
  for (let i = 0; i < 5; i++) {
    const response = await request(`${url}/openapi.yaml`)
    t.equal(response.statusCode, 200, `request ${i + 1} of 5 (the limit is 2)`)
    t.match(response.headers['content-type'], /^application\/yaml/)
    t.notOk(response.headers['x-ratelimit-limit'], 'not rate limited')
    const text = await response.body.text()
    if (i === 0) t.same(parse(text), loadOpenApi(), 'the file as written')
  }
})

test('/docs serves swagger-ui over the document; the page and every asset it loads answer 200', async (t) => {
  const url = await proxyWithTightLimits(t)
  for (const page of ['/docs', '/docs/']) {
    const response = await request(`${url}${page}`)
    t.equal(response.statusCode, 200, page)
    t.match(response.headers['content-type'], /^text\/html/)
    const html = await response.body.text()
    t.match(html, '<meta name="viewport" content="width=device-width, initial-scale=1">', 'sized for phones')
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, `${url}${page}`).href)
    t.ok(assets.length >= 5, `${page} links its scripts and styles`)
    for (const asset of assets) {
      const loaded = await request(asset)
      t.equal(loaded.statusCode, 200, `${new URL(asset).pathname} (from ${page})`)
      t.notOk(loaded.headers['x-ratelimit-limit'], 'not rate limited')
      await loaded.body.dump()
    }
  }
  // the UI fetches the document from here
  const json = await request(`${url}/docs/json`)
  t.equal(json.statusCode, 200)
  t.equal((await json.body.json() as { openapi: string }).openapi, '3.1.0')
})
