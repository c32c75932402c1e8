// CORS from CORS_ORIGINS: listed origins get the preflight and the exposed headers, others get nothing.
import { test } from 'tap'
import { request } from 'undici'
import { corsOriginFor } from '../../src/ops/cors.js'
import { DEFAULT_KEYS, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

const KEY = DEFAULT_KEYS[0]!.key
const ALLOWED = 'https://app.example.com'

function headerList (value: string | string[] | undefined): string[] {
  return String(value ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)
}

async function start (t: Parameters<typeof startProxy>[0], origins: string | undefined, env: Record<string, string> = {}): Promise<string> {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, {
    upstreamUrl: upstream.url,
    env: { ...(origins === undefined ? {} : { CORS_ORIGINS: origins }), MAX_EVENT_LOOP_DELAY_MS: '0', ...env }
  })
  return proxy.url
}

function preflight (url: string, origin: string) {
  return request(`${url}/stylize`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, idempotency-key, content-type'
    }
  })
}

test('a preflight from an allowed origin allows the auth and idempotency headers', async (t) => {
  const url = await start(t, `${ALLOWED}, https://other.example.com`)
  const answer = await preflight(url, ALLOWED)
  t.equal(answer.statusCode, 204)
  await answer.body.dump()
  t.equal(answer.headers['access-control-allow-origin'], ALLOWED)
  t.match(answer.headers.vary, /Origin/)
  t.ok(headerList(answer.headers['access-control-allow-methods']).includes('post'))
  const allowed = headerList(answer.headers['access-control-allow-headers'])
  for (const header of ['authorization', 'x-api-key', 'idempotency-key', 'content-type']) t.ok(allowed.includes(header), header)
  t.notOk(answer.headers['access-control-allow-credentials'], 'keys travel in headers, not cookies')
  t.ok(Number(answer.headers['access-control-max-age']) > 0)
})

test('answers to an allowed origin expose the request ids, Retry-After and the rate-limit headers, errors included', async (t) => {
  const url = await start(t, ALLOWED, { RATE_LIMIT_MAX: '1' })
  const first = await request(`${url}/presets`, { headers: { origin: ALLOWED, authorization: `Bearer ${KEY}` } })
  const limited = await request(`${url}/presets`, { headers: { origin: ALLOWED, authorization: `Bearer ${KEY}` } })
  const refused = await request(`${url}/presets`, { headers: { origin: ALLOWED } })
  t.same([first.statusCode, limited.statusCode, refused.statusCode], [200, 429, 401])
  for (const answer of [first, limited, refused]) {
    await answer.body.dump()
    t.equal(answer.headers['access-control-allow-origin'], ALLOWED)
    const exposed = headerList(answer.headers['access-control-expose-headers'])
    for (const header of ['x-request-id', 'x-upstream-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
      t.ok(exposed.includes(header), `exposes ${header}`)
    }
  }
  t.ok(limited.headers['retry-after'], 'the 429 a page can read its Retry-After from')
})

test('a disallowed origin gets no CORS header at all', async (t) => {
  const url = await start(t, ALLOWED)
  const answer = await preflight(url, 'https://evil.example.net')
  await answer.body.dump()
  t.not(answer.statusCode, 204)
  const simple = await request(`${url}/healthz`, { headers: { origin: 'https://evil.example.net' } })
  t.equal(simple.statusCode, 200)
  await simple.body.dump()
  for (const response of [answer, simple]) {
    t.same(Object.keys(response.headers).filter((name) => name.startsWith('access-control-')), [])
  }
})

test('without CORS_ORIGINS there is no CORS at all', async (t) => {
  const url = await start(t, undefined)
  const answer = await preflight(url, ALLOWED)
  await answer.body.dump()
  t.equal(answer.statusCode, 404)
  t.same(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')), [])
})

test('CORS_ORIGINS=* allows any origin', async (t) => {
  const url = await start(t, '*')
  const answer = await preflight(url, 'https://anywhere.example.org')
  await answer.body.dump()
  t.equal(answer.statusCode, 204)
  t.equal(answer.headers['access-control-allow-origin'], '*')
  t.equal(corsOriginFor(['https://a.example'], undefined), false, 'no Origin header: not a CORS request')
})
