// GET /metrics: Prometheus text with the upstream, queue, request and image series; its token; its exemptions.
import { test } from 'tap'
import { request } from 'undici'
import { DEFAULT_KEYS, startEmulator, startProxy } from '../fixtures/harness.js'
import { metricsText, seriesValue, stylize } from '../upstream/fixtures/client.js'

test('/metrics answers Prometheus text with upstream latency buckets and the request facts', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  t.equal((await stylize(proxy.url)).status, 200)
  const response = await request(`${proxy.url}/metrics`)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = await response.body.text()

  t.match(text, /# TYPE stylize_upstream_latency_seconds histogram/)
  for (const le of ['0.1', '1', '10', '60']) {
    t.match(text, new RegExp(`^stylize_upstream_latency_seconds_bucket\\{le="${le}",result="success"\\} [01]$`, 'm'), `bucket ${le}`)
  }
  t.equal(seriesValue(text, 'stylize_upstream_latency_seconds_bucket{le="+Inf",result="success"}'), 1)
  t.equal(seriesValue(text, 'stylize_upstream_latency_seconds_count{result="success"}'), 1)
  t.equal(seriesValue(text, 'stylize_upstream_attempts_total{outcome="10000"}'), 1)
  t.equal(seriesValue(text, 'stylize_upstream_queue_wait_seconds_count'), 1)
  t.equal(seriesValue(text, 'stylize_upstream_queue_depth'), 0)
  t.equal(seriesValue(text, 'stylize_upstream_in_flight'), 0)
  t.equal(seriesValue(text, 'stylize_upstream_breaker_state{state="closed"}'), 1)
  t.equal(seriesValue(text, 'stylize_http_requests_total{method="POST",route="/stylize",status_code="200"}'), 1)
  for (const stage of ['in', 'up', 'out']) {
    t.ok((seriesValue(text, `stylize_image_bytes_total{stage="${stage}"}`) ?? 0) > 10_000, `image bytes ${stage}`)
  }
  t.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics')
  t.match(text, /^nodejs_eventloop_lag_seconds /m)
})

test('errors are counted by code, 429s as refusals; /metrics itself is never rate limited', async (t) => {
  const emulator = await startEmulator(t)
  const keys = [{ ...DEFAULT_KEYS[0]!, rateLimit: { max: 1, timeWindow: '1 minute' } }]
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, keys, env: { RATE_LIMIT_MAX: '2' } })
  t.equal((await stylize(proxy.url)).status, 200)
  const limited = await stylize(proxy.url)
  t.equal(limited.status, 429)
  t.equal((await stylize(proxy.url, {}, { headers: { authorization: 'Bearer spk_unknown' } })).status, 401)
  for (let i = 0; i < 5; i++) t.equal((await request(`${proxy.url}/metrics`)).statusCode, 200)
  const text = await metricsText(proxy.url)
  t.equal(seriesValue(text, 'stylize_refusals_total{code="RATE_LIMITED"}'), 1)
  t.equal(seriesValue(text, 'stylize_http_errors_total{code="RATE_LIMITED"}'), 1)
  t.equal(seriesValue(text, 'stylize_http_errors_total{code="UNAUTHORIZED"}'), 1)
  t.equal(seriesValue(text, 'stylize_http_requests_total{method="GET",route="/metrics",status_code="200"}'), 5)
  const completion = proxy.logs.find((line) => line.msg === 'request completed' && line.statusCode === 429)
  t.match(completion, { errorCode: 'RATE_LIMITED' })
})

test('unknown paths are one label, not one per path', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  for (const path of ['/a', '/b', '/c?x=1']) await (await request(`${proxy.url}${path}`)).body.dump()
  const text = await metricsText(proxy.url)
  t.equal(seriesValue(text, 'stylize_http_requests_total{method="GET",route="unmatched",status_code="404"}'), 3)
  t.notMatch(text, /route="\/a"/)
})

test('with METRICS_TOKEN, /metrics needs that bearer token', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { METRICS_TOKEN: 'scrape-token-123' } })
  const anonymous = await request(`${proxy.url}/metrics`)
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="metrics"')
  t.match(await anonymous.body.json(), { code: 'UNAUTHORIZED' })
  for (const authorization of ['Bearer wrong', 'Bearer scrape-token-12', 'Basic scrape-token-123', `Bearer ${DEFAULT_KEYS[0]!.key}`]) {
    const refused = await request(`${proxy.url}/metrics`, { headers: { authorization } })
    await refused.body.dump()
    t.equal(refused.statusCode, 401, authorization)
  }
  const allowed = await request(`${proxy.url}/metrics`, { headers: { authorization: 'Bearer scrape-token-123' } })
  t.equal(allowed.statusCode, 200)
  t.match(await allowed.body.text(), /stylize_upstream_latency_seconds/)
  t.notMatch(proxy.logText(), /scrape-token-123/)
})
