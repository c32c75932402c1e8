// The API's answers carry helmet's strict Content-Security-Policy; /docs and the demo page have their own.
import { test } from 'tap'
import { request } from 'undici'
import { DEFAULT_KEYS, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

const KEY = DEFAULT_KEYS[0]!.key

/** The CSP header as directive -> sources. */
function csp (header: string | string[] | undefined): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of String(header ?? '').split(';').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', ...sources] = part.split(/\s+/)
    directives.set(name, sources)
  }
  return directives
}

async function start (t: Parameters<typeof startProxy>[0]): Promise<string> {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { DEMO_PAGE: 'true', MAX_EVENT_LOOP_DELAY_MS: '0' } })
  return proxy.url
}

test('API answers, errors included, carry the strict policy and helmet\'s other headers', async (t) => {
  const url = await start(t)
  const answers = [
    await request(`${url}/presets`, { headers: { authorization: `Bearer ${KEY}` } }),
    await request(`${url}/presets`),
    await request(`${url}/stylize`, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json' }, body: '{}' }),
    await request(`${url}/no-such-route`),
    await request(`${url}/healthz`)
  ]
  t.same(answers.map((a) => a.statusCode), [200, 401, 400, 404, 200])
  for (const answer of answers) {
    await answer.body.dump()
    const policy = csp(answer.headers['content-security-policy'])
    t.same(policy.get('default-src'), ["'self'"])
    t.same(policy.get('script-src'), ["'self'"], 'no inline or foreign script')
    t.same(policy.get('object-src'), ["'none'"])
    t.same(policy.get('img-src'), ["'self'", 'data:'], 'no blob: images')
    t.ok(policy.has('upgrade-insecure-requests'))
    t.equal(answer.headers['x-content-type-options'], 'nosniff')
    t.equal(answer.headers['x-frame-options'], 'SAMEORIGIN')
    t.equal(answer.headers['referrer-policy'], 'no-referrer')
    t.equal(answer.headers['cross-origin-resource-policy'], 'same-origin')
  }
})

test('/docs has a policy that lets swagger-ui run, and still no foreign or inline script', async (t) => {
  const url = await start(t)
  for (const path of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js']) {
    const answer = await request(`${url}${path}`)
    t.equal(answer.statusCode, 200, path)
    await answer.body.dump()
    const policy = csp(answer.headers['content-security-policy'])
    t.same(policy.get('script-src'), ["'self'"], `${path}: scripts from this origin only`)
    t.same(policy.get('style-src'), ["'self'", "'unsafe-inline'"], `${path}: swagger-ui's inline styles`)
    t.same(policy.get('connect-src'), ["'self'"], `${path}: fetches /docs/json`)
    t.same(policy.get('object-src'), ["'none'"])
    t.notOk(policy.has('upgrade-insecure-requests'), `${path}: its assets load over plain http too`)
  }
})

test('the demo page\'s policy allows blob: and data: images, and only its own script', async (t) => {
  const url = await start(t)
  const answer = await request(`${url}/`)
  t.equal(answer.statusCode, 200)
  t.match(answer.headers['content-type'], /^text\/html/)
  await answer.body.dump()
  const policy = csp(answer.headers['content-security-policy'])
  t.match(policy.get('img-src'), ["'self'", 'data:', 'blob:'])
  t.same(policy.get('script-src'), ["'self'"])
  t.same(policy.get('connect-src'), ["'self'"], 'the page calls this origin\'s /stylize')
  t.same(policy.get('frame-ancestors'), ["'self'"])
})
