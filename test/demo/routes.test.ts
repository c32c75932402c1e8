// The demo page's routes: served only with DEMO_PAGE=true, without a key or a rate limit, from src/ under
// tsx and from dist/ after the build; the page itself needs nothing a 'self'-only CSP would refuse.
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { test } from 'tap'
import { request } from 'undici'
import { demoRoutes } from '../../src/demo/routes.js'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

const SRC = new URL('../../src/demo/', import.meta.url)
const DIST = new URL('../../dist/demo/', import.meta.url)
const ASSETS = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/demo.css', file: 'demo.css', type: 'text/css; charset=utf-8' },
  { url: '/demo.js', file: 'demo.js', type: 'text/javascript; charset=utf-8' }
]

async function serve (t: { teardown: (fn: () => unknown) => void }, routes: typeof demoRoutes): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(routes)
  t.teardown(async () => { await app.close() })
  return app
}

test('the three files, with their types, from the module\'s own folder', async (t) => {
  const app = await serve(t, demoRoutes)
  for (const { url, file, type } of ASSETS) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['content-type'], type)
    t.equal(res.headers['cache-control'], 'no-cache')
    t.equal(res.body, readFileSync(new URL(file, SRC), 'utf8'))
  }
  t.equal((await app.inject({ url: '/', method: 'HEAD' })).statusCode, 200)
})

test('the build ships the files: dist/demo/routes.js serves them from dist/demo', async (t) => {
  // `npm test` builds first (pretest); the build script copies src/demo's static files beside routes.js
  const compiled = await import(new URL('routes.js', DIST).href) as { demoRoutes: typeof demoRoutes }
  const app = await serve(t, compiled.demoRoutes)
  for (const { url, file } of ASSETS) {
    t.equal((await app.inject({ url })).body, readFileSync(new URL(file, SRC), 'utf8'), `${url} from dist is the current ${file}`)
  }
})

test('the page works under a self-only CSP: no inline code or styles, nothing from elsewhere', async (t) => {
  const html = readFileSync(new URL('index.html', SRC), 'utf8')
  const css = readFileSync(new URL('demo.css', SRC), 'utf8')
  const js = readFileSync(new URL('demo.js', SRC), 'utf8')
  t.same([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), ['<script type="module" src="/demo.js">'], 'one script, from a file')
  t.notMatch(html, /<style\b/, 'no <style> element')
  t.notMatch(html, /\sstyle=/, 'no style attribute')
  t.notMatch(html, /\son[a-z]+=/, 'no inline event handler')
  t.notMatch(html + css + js, /https?:\/\//, 'no external resource')
  t.notMatch(js, /setAttribute\(['"]style|innerHTML|eval\(|new Function/, 'no inline styles or code built from strings')
  for (const [, id] of html.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)) {
    t.ok(html.includes(`for="${id}"`), `#${id} has a label`)
  }
})

test('in the app: only with DEMO_PAGE=true, without a key, never rate limited', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const off = await startProxy(t, { upstreamUrl: upstream.url })
  const closed = await request(`${off.url}/`)
  t.equal(closed.statusCode, 404)
  t.match(await closed.body.json(), { code: 'NOT_FOUND' })
  t.equal((await request(`${off.url}/demo.js`)).statusCode, 404)

  const on = await startProxy(t, { upstreamUrl: upstream.url, env: { DEMO_PAGE: 'true', RATE_LIMIT_MAX: '1' } })
  for (let i = 0; i < 3; i++) {
    for (const { url, type } of ASSETS) {
      const res = await request(`${on.url}${url}`)
      t.equal(res.statusCode, 200, `${url}, time ${i + 1}`)
      t.equal(res.headers['content-type'], type)
      t.equal(res.headers['x-ratelimit-limit'], undefined, 'not rate limited')
      await res.body.dump()
    }
  }
  const page = await request(`${on.url}/`)
  t.match(page.headers['content-security-policy'], /script-src 'self'/, 'the page has a Content-Security-Policy')
  t.match(page.headers['content-security-policy'], /img-src[^;]*blob:/, 'which lets it show the chosen photo and the result')
  await page.body.dump()
})
