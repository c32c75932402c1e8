// Jobs on one replica without Redis: submit, long poll, collect, cancel; judged before the 202 like /stylize.
import sharp from 'sharp'
import { test } from 'tap'
import { DEFAULT_KEYS, startEmulator, startProxy } from '../fixtures/harness.js'
import { metricsText, seriesValue } from '../upstream/fixtures/client.js'
import { cancelJob, getJob, jobImage, submitJob, waitForEnd } from './fixtures/jobs-client.js'

const WEB = DEFAULT_KEYS[0]!.key
const OTHER = DEFAULT_KEYS[1]!.key

test('a job is accepted with 202 and Location, ends succeeded, and its image is served', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 200 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const submitted = await submitJob(proxy.url, WEB)
  t.equal(submitted.status, 202)
  const id = submitted.json.job_id as string
  t.match(id, /^[A-Za-z0-9_-]{22}$/, '128 random bits')
  t.equal(submitted.headers.location, `/jobs/${id}`)
  t.match(submitted.json, { status: /^(queued|running)$/, preset: 'angel', created_at: /^\d{4}-\d\d-\d\dT/ })

  const done = await waitForEnd(proxy.url, WEB, id)
  t.match(done.json, { job_id: id, status: 'succeeded', result: { mime_type: 'image/jpeg', image_url: `/jobs/${id}/image` } })
  t.ok(Date.parse(done.json.finished_at) >= Date.parse(done.json.started_at))
  const image = await jobImage(proxy.url, WEB, id)
  t.equal(image.status, 200)
  t.equal(image.type, 'image/jpeg')
  t.equal((await sharp(image.bytes).metadata()).format, 'jpeg')
  t.equal(emulator.app.emulatorStats.calls, 1)
})

test('another key\'s job is 404 exactly like a missing one, on every route', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const id = (await submitJob(proxy.url, WEB)).json.job_id as string
  const missing = 'AAAAAAAAAAAAAAAAAAAAAA'
  for (const [who, jobId] of [['other key', id], ['missing', missing]] as const) {
    const seen = await getJob(proxy.url, OTHER, jobId)
    t.equal(seen.status, 404, who)
    t.equal(seen.json.code, 'NOT_FOUND')
    t.equal(seen.json.message, 'no such job')
    t.equal((await jobImage(proxy.url, OTHER, jobId)).status, 404)
    t.equal((await cancelJob(proxy.url, OTHER, jobId)).status, 404)
  }
  t.equal((await getJob(proxy.url, WEB, id)).status, 200, 'its own key sees it')
})

test('?wait= answers as soon as the job ends, not at the end of the wait', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 300 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const id = (await submitJob(proxy.url, WEB)).json.job_id as string
  const started = performance.now()
  const answer = await getJob(proxy.url, WEB, id, 30)
  t.equal(answer.json.status, 'succeeded')
  t.ok(performance.now() - started < 20_000, 'long before the 30 s wait ran out')
  t.equal((await getJob(proxy.url, WEB, id, 31)).status, 400, 'wait is bounded to 30 s')
  t.equal((await getJob(proxy.url, WEB, id, 'soon' as never)).json.code, 'INVALID_REQUEST')
})

test('a queued job shows its position and estimate, can be cancelled (never paid), a running one cannot', async (t) => {
  const emulator = await startEmulator(t, { latencyMs: 1500 })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_CONCURRENCY: '1' } })
  const first = (await submitJob(proxy.url, WEB)).json.job_id as string
  const second = await submitJob(proxy.url, WEB)
  t.match(second.json, { status: 'queued', position: 1 })
  t.ok(second.json.estimated_wait_s >= 1, 'with an estimate')

  const cancelled = await cancelJob(proxy.url, WEB, second.json.job_id)
  t.equal(cancelled.status, 200)
  t.equal(cancelled.json.status, 'cancelled')
  t.equal((await cancelJob(proxy.url, WEB, second.json.job_id)).json.code, 'JOB_NOT_CANCELLABLE', 'ended: not again')

  const running = await cancelJob(proxy.url, WEB, first)
  t.equal(running.status, 409)
  t.equal(running.json.code, 'JOB_NOT_CANCELLABLE')
  t.equal((await waitForEnd(proxy.url, WEB, first)).json.status, 'succeeded')
  t.equal((await getJob(proxy.url, WEB, second.json.job_id)).json.status, 'cancelled')
  t.equal(emulator.app.emulatorStats.calls, 1, 'the cancelled job never reached the upstream')
})

test('what can be judged before the upstream is judged before the 202', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  t.equal((await submitJob(proxy.url, WEB, { strength: 2 })).json.code, 'INVALID_REQUEST')
  t.equal((await submitJob(proxy.url, WEB, { colour: 'red' })).json.code, 'INVALID_REQUEST', 'unknown fields')
  t.equal((await submitJob(proxy.url, WEB, { prompt: 'mine' })).json.code, 'FORBIDDEN')
  t.equal((await submitJob(proxy.url, WEB, { image_base64: Buffer.from('GIF89a-not-really').toString('base64') })).json.code, 'UNSUPPORTED_MEDIA_TYPE')
  t.equal((await submitJob(proxy.url, WEB, { image_base64: undefined, image_url: 'http://10.0.0.1/a.jpg' })).json.code, 'IMAGE_URL_REJECTED')
  const webhook = await submitJob(proxy.url, WEB, { webhook_url: 'https://hooks.example.com/stylize' })
  t.equal(webhook.status, 400, 'a webhook_url without WEBHOOK_SECRET')
  t.match(webhook.json.message, /WEBHOOK_SECRET/)
  t.equal((await submitJob(proxy.url, 'spk_nobody')).status, 401)
  t.equal(emulator.app.emulatorStats.calls, 0)
})

test('the same Idempotency-Key gives back the same job; a failed job gives its quota back', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: '50411', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, keys: [{ id: 'metered', key: 'spk_metered', dailyQuota: 1 }] })
  const first = await submitJob(proxy.url, 'spk_metered', {}, { 'idempotency-key': 'order-7' })
  const again = await submitJob(proxy.url, 'spk_metered', {}, { 'idempotency-key': 'order-7' })
  t.equal(again.status, 202)
  t.equal(again.json.job_id, first.json.job_id)
  t.equal(again.headers['idempotent-replayed'], 'true')
  const failed = await waitForEnd(proxy.url, 'spk_metered', first.json.job_id)
  t.match(failed.json, { status: 'failed', error: { statusCode: 422, code: 'CONTENT_REJECTED' } })
  t.equal((await jobImage(proxy.url, 'spk_metered', first.json.job_id)).status, 404)
  const next = await submitJob(proxy.url, 'spk_metered')
  t.equal(next.status, 202, 'the failed job\'s call was given back to the quota')
  await waitForEnd(proxy.url, 'spk_metered', next.json.job_id)
  t.equal((await submitJob(proxy.url, 'spk_metered')).status, 202)
})

test('metrics: jobs by status, the queue depth, webhook deliveries', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: '50411', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const failed = (await submitJob(proxy.url, WEB)).json.job_id as string
  await waitForEnd(proxy.url, WEB, failed)
  const text = await metricsText(proxy.url)
  t.equal(seriesValue(text, 'stylize_jobs_total{status="queued"}'), 1)
  t.equal(seriesValue(text, 'stylize_jobs_total{status="failed"}'), 1)
  t.equal(seriesValue(text, 'stylize_fleet_queue_depth'), 0)
  t.match(text, /# TYPE stylize_webhook_deliveries_total counter/)
})
