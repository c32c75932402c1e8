// The proxy against slow, throttling and failing upstreams (the emulator's faults and recording upstreams):
// retries, their bounds, the concurrency gate and its queue, clients that leave, the circuit breaker.
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { photo, startEmulator, startProxy, startRecordingUpstream, successAnswer } from '../fixtures/harness.js'
import { eventually, metricsText, seriesValue, stylize } from './fixtures/client.js'

const business = (code: number, status: number) => ({ status, body: { code, message: 'injected', request_id: `r${code}`, data: null } })

test('throttling is retried and then answered', async (t) => {
  const result = successAnswer(await photo(800, 600))
  let calls = 0
  const upstream = await startRecordingUpstream(t, () => ++calls <= 2 ? business(calls === 1 ? 50429 : 50430, 429) : result)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '2' } })
  const res = await stylize(proxy.url, {}, { headers: { 'x-request-id': 'throttled-once' } })
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 3)
  const completion = proxy.logs.find((line) => line.msg === 'request completed' && line.requestId === 'throttled-once')
  t.match(completion, { retries: 2, upstreamCode: '10000' })
  t.equal(proxy.logs.filter((line) => line.msg === 'retrying the upstream call' && line.requestId === 'throttled-once').length, 2)
})

test('retries are bounded: persistent throttling ends in 503 UPSTREAM_BUSY with Retry-After', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: '50429', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_RETRIES: '2' } })
  const res = await stylize(proxy.url)
  t.equal(res.status, 503)
  t.equal(res.json.code, 'UPSTREAM_BUSY')
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.equal(emulator.app.emulatorStats.calls, 3, 'one call and two retries')
})

test('the upstream\'s own 5xx answers are retried, then answered 502', async (t) => {
  for (const fault of ['50500', '50501'] as const) {
    const emulator = await startEmulator(t, { faults: [{ name: fault, probability: 1 }] })
    const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_RETRIES: '1' } })
    const res = await stylize(proxy.url)
    t.equal(res.status, 502, fault)
    t.equal(res.json.code, 'UPSTREAM_ERROR')
    t.equal(emulator.app.emulatorStats.calls, 2, `${fault}: one call and one retry`)
  }
})

test('a connection reset after the body was sent is paid at most once: one call, answered 502', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: 'reset', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_RETRIES: '3' } })
  const res = await stylize(proxy.url, {}, { headers: { 'x-request-id': 'reset-once' } })
  t.equal(res.status, 502)
  t.equal(res.json.code, 'UPSTREAM_ERROR')
  t.equal(emulator.app.emulatorStats.calls, 1, 'the upstream saw one call')
  t.notOk(proxy.logs.some((line) => line.msg === 'retrying the upstream call'), 'no retry logged')
})

test('a bare 5xx from a gateway in front (no upstream body) is not repeated', async (t) => {
  for (const status of [502, 503, 504]) {
    const upstream = await startRecordingUpstream(t, () => ({ status, body: '<html>bad gateway</html>' }))
    const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '3' } })
    t.equal((await stylize(proxy.url)).status, 502, `${status}`)
    t.equal(upstream.requests.length, 1, `${status}: one call`)
  }
})

test('a connection that never opened is retried: nothing reached the upstream', async (t) => {
  // a port that was listening a moment ago and is closed now refuses at once
  const closed = await startRecordingUpstream({ teardown: () => {} })
  await new Promise((resolve) => closed.server.close(resolve))
  const proxy = await startProxy(t, { upstreamUrl: closed.url, env: { UPSTREAM_RETRIES: '2' } })
  const res = await stylize(proxy.url, {}, { headers: { 'x-request-id': 'refused-connect' } })
  t.equal(res.status, 502)
  t.equal(proxy.logs.filter((line) => line.msg === 'retrying the upstream call' && line.requestId === 'refused-connect').length, 2, 'two retries')
})

test('moderation, validation errors, garbage and timeouts are never retried', async (t) => {
  for (const [fault, status] of [['50411', 422], ['malformed', 502]] as const) {
    const emulator = await startEmulator(t, { faults: [{ name: fault, probability: 1 }] })
    const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_RETRIES: '3' } })
    t.equal((await stylize(proxy.url)).status, status, fault)
    t.equal(emulator.app.emulatorStats.calls, 1, `${fault} is not retried`)
  }
  const invalid = await startRecordingUpstream(t, () => business(50207, 400))
  const proxy = await startProxy(t, { upstreamUrl: invalid.url, env: { UPSTREAM_RETRIES: '3' } })
  t.equal((await stylize(proxy.url)).status, 502)
  t.equal(invalid.requests.length, 1)

  const hanging = await startEmulator(t, { faults: [{ name: 'hang', probability: 1 }] })
  const timing = await startProxy(t, { upstreamUrl: hanging.url, env: { UPSTREAM_RETRIES: '3', UPSTREAM_TIMEOUT_MS: '300' } })
  t.equal((await stylize(timing.url)).status, 504)
  t.equal(hanging.app.emulatorStats.calls, 1, 'a timed-out call may be billed: not repeated')
})

test('50511 is retried once with a different seed, only when the seed was random', async (t) => {
  const upstream = await startRecordingUpstream(t, () => business(50511, 400))
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '2' } })
  const random = await stylize(proxy.url)
  t.equal(random.status, 422)
  t.equal(random.json.code, 'CONTENT_REJECTED')
  t.equal(upstream.requests.length, 2, 'retried once')
  const [first, second] = upstream.requests.map((request) => request.json?.seed)
  t.equal(first, -1)
  t.type(second, 'number')
  t.not(second, -1, 'a new seed')

  t.equal((await stylize(proxy.url, { seed: -1 })).status, 422)
  t.equal(upstream.requests.length, 4, 'an explicit -1 is random too')
  t.equal((await stylize(proxy.url, { seed: 1234 })).status, 422)
  t.equal(upstream.requests.length, 5, 'a chosen seed is not changed')
})

test('a 50511 retry that passes answers 200', async (t) => {
  const result = successAnswer(await photo(800, 600))
  const upstream = await startRecordingUpstream(t, (request) => request.json?.seed === -1 ? business(50511, 400) : result)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  t.equal((await stylize(proxy.url)).status, 200)
  t.equal(upstream.requests.length, 2)
})

test('a hanging upstream is answered 504 within the overall deadline', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: 'hang', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_DEADLINE_MS: '500' } })
  const res = await stylize(proxy.url)
  t.equal(res.status, 504)
  t.equal(res.json.code, 'UPSTREAM_TIMEOUT')
  t.ok(res.ms < 4000, `answered soon after the deadline (${Math.round(res.ms)} ms)`)
})

test('retries stop at the overall deadline', async (t) => {
  const upstream = await startRecordingUpstream(t, async () => { await sleep(300); return business(50500, 500) })
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '10', UPSTREAM_DEADLINE_MS: '700' } })
  const res = await stylize(proxy.url)
  t.ok(res.status === 502 || res.status === 504, `answered ${res.status}`)
  t.ok(upstream.requests.length <= 3, `at most what fits in the deadline (${upstream.requests.length} calls)`)
  t.ok(res.ms < 4000)
})

test('12 at once, concurrency 2, queue 6: 8 answered, 4 refused at once with Retry-After, never more than 2 upstream', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 1500, concurrency: 2 })
  const proxy = await startProxy(t, {
    upstreamUrl: emulator.url,
    env: { UPSTREAM_CONCURRENCY: '2', UPSTREAM_QUEUE_MAX: '6', UPSTREAM_QUEUE_TIMEOUT_MS: '30000', RATE_LIMIT_MAX: '100' }
  })
  const answers = await Promise.all(Array.from({ length: 12 }, async () => await stylize(proxy.url)))
  const ok = answers.filter((answer) => answer.status === 200)
  const busy = answers.filter((answer) => answer.status === 503)
  t.equal(ok.length, 8)
  t.equal(busy.length, 4)
  for (const answer of busy) {
    t.equal(answer.json.code, 'UPSTREAM_BUSY')
    t.ok(Number(answer.headers['retry-after']) >= 1, 'with Retry-After')
  }
  const firstAnswered = Math.min(...ok.map((answer) => answer.ms))
  t.ok(busy.every((answer) => answer.ms < firstAnswered), 'refused before any call could have ended')
  t.ok(emulator.app.emulatorStats.maxInFlight <= 2, `upstream saw at most 2 at once (${emulator.app.emulatorStats.maxInFlight})`)
  t.equal(emulator.app.emulatorStats.calls, 8, 'no 50430 retries were needed')
})

test('a request abandoned while queued leaves the queue and never reaches the upstream', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 1000 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_CONCURRENCY: '1' } })
  const first = stylize(proxy.url)
  await eventually(() => emulator.app.emulatorStats.inFlight === 1)
  const controller = new AbortController()
  const abandoned = stylize(proxy.url, {}, { signal: controller.signal }).catch((error: unknown) => error)
  await eventually(async () => seriesValue(await metricsText(proxy.url), 'stylize_upstream_queue_depth') === 1)
  controller.abort()
  t.match(await abandoned, { name: 'AbortError' })
  await eventually(async () => seriesValue(await metricsText(proxy.url), 'stylize_upstream_queue_depth') === 0)
  t.equal((await first).status, 200)
  await sleep(300)
  t.equal(emulator.app.emulatorStats.calls, 1, 'only the first request was sent')
  t.equal(seriesValue(await metricsText(proxy.url), 'stylize_upstream_refused_total{reason="cancelled"}'), 1)
})

test('waiting longer than the queue timeout is 503 UPSTREAM_BUSY with Retry-After', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 1500 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_CONCURRENCY: '1', UPSTREAM_QUEUE_TIMEOUT_MS: '200' } })
  const first = stylize(proxy.url)
  await eventually(() => emulator.app.emulatorStats.inFlight === 1)
  const late = await stylize(proxy.url)
  t.equal(late.status, 503)
  t.equal(late.json.code, 'UPSTREAM_BUSY')
  t.ok(Number(late.headers['retry-after']) >= 1)
  t.equal((await first).status, 200)
  t.equal(emulator.app.emulatorStats.calls, 1)
})

test('the circuit opens after N failed attempts, answers at once, then recovers through one probe', async (t) => {
  const result = successAnswer(await photo(800, 600))
  let healthy = false
  const gatewayError = {
    status: 401,
    body: { ResponseMetadata: { RequestId: 'g1', Action: 'CVProcess', Version: '2022-08-31', Service: 'cv', Region: 'cn-north-1', Error: { CodeN: 100009, Code: 'InvalidAccessKey', Message: 'revoked' } } }
  }
  const upstream = await startRecordingUpstream(t, async () => {
    if (!healthy) return gatewayError
    await sleep(400)
    return result
  })
  const proxy = await startProxy(t, {
    upstreamUrl: upstream.url,
    env: { UPSTREAM_BREAKER_THRESHOLD: '3', UPSTREAM_BREAKER_COOLDOWN_MS: '1500', RATE_LIMIT_MAX: '100' }
  })
  for (let i = 0; i < 3; i++) t.equal((await stylize(proxy.url)).status, 502, 'gateway errors are not retried')
  t.equal(upstream.requests.length, 3)

  const refused = await stylize(proxy.url)
  t.equal(refused.status, 503)
  t.equal(refused.json.code, 'UPSTREAM_BUSY')
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 2)
  t.equal(upstream.requests.length, 3, 'no upstream call while open')
  t.match(proxy.logText(), /upstream circuit open/)
  t.equal(seriesValue(await metricsText(proxy.url), 'stylize_upstream_breaker_state{state="open"}'), 1)

  healthy = true
  await sleep(1600)
  const [probe, second] = await Promise.all([stylize(proxy.url), sleep(100).then(async () => await stylize(proxy.url))])
  t.equal(probe.status, 200, 'the probe passes')
  t.equal(second.status, 503, 'one probe at a time: the other is refused')
  t.equal(upstream.requests.length, 4)
  t.equal((await stylize(proxy.url)).status, 200, 'closed again')
  t.match(proxy.logText(), /upstream circuit half-open[\s\S]*upstream circuit closed/)
  const metrics = await metricsText(proxy.url)
  t.equal(seriesValue(metrics, 'stylize_upstream_breaker_state{state="closed"}'), 1)
  t.equal(seriesValue(metrics, 'stylize_upstream_breaker_transitions_total{to="open"}'), 1)
  t.equal(seriesValue(metrics, 'stylize_upstream_refused_total{reason="circuit_open"}'), 2)
})

test('throttling does not open the circuit', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: '50430', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_BREAKER_THRESHOLD: '2', UPSTREAM_RETRIES: '1' } })
  for (let i = 0; i < 3; i++) t.equal((await stylize(proxy.url)).status, 503)
  t.equal(emulator.app.emulatorStats.calls, 6, 'every request still reached the upstream')
})

test('with the queue full, a newcomer is refused before its image is read or prepared', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 1500 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_CONCURRENCY: '1', UPSTREAM_QUEUE_MAX: '1' } })
  const first = stylize(proxy.url)
  await eventually(() => emulator.app.emulatorStats.inFlight === 1)
  const queued = stylize(proxy.url)
  await eventually(async () => seriesValue(await metricsText(proxy.url), 'stylize_upstream_queue_depth') === 1)
  // not even an image: a full queue is answered before the body is looked at
  const late = await stylize(proxy.url, { image_base64: 'not an image' })
  t.equal(late.status, 503)
  t.equal(late.json.code, 'UPSTREAM_BUSY')
  t.ok(Number(late.headers['retry-after']) >= 1)
  t.equal((await first).status, 200)
  t.equal((await queued).status, 200)
  t.equal(emulator.app.emulatorStats.calls, 2)
})
