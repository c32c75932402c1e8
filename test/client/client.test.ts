// StylizeClient against a real proxy and the emulator: every input kind, the result shapes, and every way
// a call fails (the proxy's codes with Retry-After, the client's own deadline, no answer at all).
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import sharp from 'sharp'
import { test } from 'tap'
import { request } from 'undici'
import { CONTRACT_ERROR_CODES, StylizeClient, StylizeError, parseRetryAfter, type Job, type StylizeParameters, type UsageFigures } from '../../packages/client/src/index.js'
import type { UsageFigures as ServerUsageFigures } from '../../src/usage/figures.js'
import type { JobView } from '../../src/jobs/job.js'
import * as serverErrors from '../../src/errors.js'
import type { StylizeFields } from '../../src/stylize/schema.js'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, tempDir } from '../fixtures/harness.js'

type Teardown = Parameters<typeof startProxy>[0]
const KEY = DEFAULT_KEYS[1]!.key // allowPrompt

// The client cannot import the server's schema (it ships alone): the compiler holds the two together.
type ServerParameters = Omit<StylizeFields, 'image_url' | 'image_base64' | 'return_url'>
const toClient = (fields: ServerParameters): StylizeParameters => fields
const toServer = (parameters: StylizeParameters): ServerParameters => parameters
void toClient
void toServer
// and the job the client reads is the job the server writes
const toClientJob = (view: JobView): Job => view
void toClientJob
// and the figures it reads are the ones the server counts
const toClientUsage = (figures: ServerUsageFigures): UsageFigures => figures
void toClientUsage

async function setUp (t: Teardown, options: { latencyMs?: number, env?: Record<string, string>, faults?: Array<{ name: '50411', probability: number }> } = {}) {
  const emulator = await startEmulator(t, { latencyMs: options.latencyMs ?? 0, faults: options.faults ?? [] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0', ...options.env } })
  const calls = async (): Promise<number> => ((await (await request(`${emulator.url}/_emulator/stats`)).body.json()) as { calls: number }).calls
  return { proxy, calls, client: new StylizeClient({ baseUrl: proxy.url, apiKey: KEY }) }
}

async function failure (promise: Promise<unknown>): Promise<StylizeError> {
  try {
    await promise
  } catch (error) {
    return error as StylizeError
  }
  throw new Error('the call did not fail')
}

test('a Buffer comes back as the stylized image, with both request ids', async (t) => {
  const { client } = await setUp(t)
  const result = await client.stylize(await photo(1024, 768), { preset: 'angel-soft', strength: 0.7, requestId: 'client-test-1' })
  t.equal(result.mimeType, 'image/jpeg')
  t.equal(result.requestId, 'client-test-1')
  t.type(result.upstreamRequestId, 'string')
  const metadata = await sharp(result.image).metadata()
  t.equal(metadata.format, 'jpeg')
  t.equal(Math.max(metadata.width ?? 0, metadata.height ?? 0), 704, 'the preset\'s long_resolution')
})

test('a file path, a stream and object fields (multipart, streamed)', async (t) => {
  const { client } = await setUp(t)
  const file = join(tempDir(), 'photo.jpg')
  writeFileSync(file, await photo(900, 1200))
  const fromPath = await client.stylize({ path: file }, { long_resolution: 512, lora_multipers: { Colorwater_v4: 0.3 }, logo_info: { add_logo: true, position: 1 } })
  t.equal(Math.max((await sharp(fromPath.image).metadata()).height ?? 0), 512)

  const bytes = await photo(800, 800, { format: 'webp' })
  const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000)]
  const fromStream = await client.stylize(Readable.from(chunks), { seed: 7, prompt: 'a marble bust' })
  t.ok(fromStream.image.length > 0)
})

test('a URL, answered with a URL (return_url)', async (t) => {
  const { client } = await setUp(t)
  const image = await photo(1000, 800)
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me.jpg`

  const result = await client.stylize({ url }, { returnUrl: true })
  t.match(result.imageUrl, /^http:\/\/127\.0\.0\.1:\d+\//)
  const fetched = await request(result.imageUrl)
  t.equal(fetched.statusCode, 200)
  t.equal((await sharp(Buffer.from(await fetched.body.arrayBuffer())).metadata()).format, 'jpeg')

  const bytes = await client.stylize({ url })
  t.equal(bytes.mimeType, 'image/jpeg')
})

test('presets() lists what the key may use', async (t) => {
  const { client } = await setUp(t)
  const { presets, allowPrompt } = await client.presets()
  t.same(presets.map((p) => p.name).sort(), ['angel', 'angel-soft'])
  t.equal(allowPrompt, true)
})

test('usage() tells what the key used today, its quota and its spend', async (t) => {
  const { client } = await setUp(t, { env: { PRICE_PER_CALL: '0.2', PRICE_CURRENCY: 'CNY' } })
  await client.stylize(await photo(1024, 768))
  const usage = await client.usage()
  t.equal(usage.key_id, 'internal')
  t.equal(usage.today.succeeded, 1)
  t.equal(usage.today.spend, 0.2)
  t.equal(usage.currency, 'CNY')
  t.same(usage.quota, { daily: null, remaining: null, resets_at: usage.quota.resets_at })
})

test('an idempotent retry is answered from the first result, with one upstream call', async (t) => {
  const { client, calls } = await setUp(t)
  const image = await photo(1024, 768)
  const first = await client.stylize(image, { idempotencyKey: 'order-42' })
  const retry = await client.stylize(image, { idempotencyKey: 'order-42' })
  t.same(retry.image, first.image)
  t.equal(await calls(), 1)
})

test('the proxy\'s refusals throw StylizeError with its code, status, request id and Retry-After', async (t) => {
  const { proxy, client } = await setUp(t, { env: { RATE_LIMIT_MAX: '2' } })
  const image = await photo(1024, 768)

  // refused before the body is read: a small one (a large unread body keeps the connection busy)
  const badKey = await failure(new StylizeClient({ baseUrl: proxy.url, apiKey: 'spk_nope' }).stylize(Buffer.from('x')))
  t.ok(badKey instanceof StylizeError)
  t.match(badKey, { name: 'StylizeError', code: 'UNAUTHORIZED', statusCode: 401, requestId: String })

  const badField = await failure(client.stylize(image, { strength: 2 }))
  t.match(badField, { code: 'INVALID_REQUEST', statusCode: 400, message: /strength/ })

  const gif = await failure(client.stylize(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1')))
  t.match(gif, { code: 'UNSUPPORTED_MEDIA_TYPE', statusCode: 415 })

  const limited = await failure(client.stylize(Buffer.from('x')))
  t.match(limited, { code: 'RATE_LIMITED', statusCode: 429 })
  t.type(limited.retryAfter, 'number')
  t.ok(limited.retryAfter! > 0 && limited.retryAfter! <= 60, 'seconds until the window resets')
})

test('an upstream content refusal is CONTENT_REJECTED', async (t) => {
  const { client } = await setUp(t, { faults: [{ name: '50411', probability: 1 }] })
  t.match(await failure(client.stylize(await photo(1024, 768))), { code: 'CONTENT_REJECTED', statusCode: 422 })
})

test('the client\'s own deadline is TIMEOUT; the caller\'s abort stays an abort', async (t) => {
  const { client } = await setUp(t, { latencyMs: 4000 })
  const image = await photo(1024, 768)
  const late = await failure(client.stylize(image, { timeoutMs: 300 }))
  t.match(late, { code: 'TIMEOUT', statusCode: undefined })

  const controller = new AbortController()
  const aborted = client.stylize(image, { signal: controller.signal })
  setTimeout(() => { controller.abort() }, 200)
  const error = await failure(aborted) as unknown as Error
  t.equal(error.name, 'AbortError')
  t.notOk(error instanceof StylizeError)
})

test('no answer is NETWORK_ERROR; an answer not in the proxy\'s shape is HTTP_ERROR', async (t) => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  const nobody = await failure(new StylizeClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' }).stylize(Buffer.from('x')))
  t.match(nobody, { code: 'NETWORK_ERROR', statusCode: undefined, message: /cannot reach/ })

  const gateway = createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.writeHead(502, { 'content-type': 'text/html', 'retry-after': '5' }).end('<h1>502 Bad Gateway</h1>') })
  })
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { gateway.close() })
  const html = await failure(new StylizeClient({ baseUrl: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/`, apiKey: 'k' }).stylize(Buffer.from('x')))
  t.match(html, { code: 'HTTP_ERROR', statusCode: 502, retryAfter: 5 })
})

test('options are checked once, at construction', async (t) => {
  t.throws(() => new StylizeClient({ baseUrl: 'stylize:3000', apiKey: 'k' }), TypeError)
  t.throws(() => new StylizeClient({ baseUrl: 'http://stylize:3000', apiKey: '' }), TypeError)
})

test('Retry-After in seconds or as an HTTP date', async (t) => {
  t.equal(parseRetryAfter('12'), 12)
  t.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1)), 30)
  t.equal(parseRetryAfter(undefined), undefined)
  t.equal(parseRetryAfter('soon'), undefined)
})

test('the client knows every code the server can send, with its status', async (t) => {
  const server = Object.entries(serverErrors)
    .filter(([name, value]) => name.endsWith('Error') && typeof value === 'function')
    .map(([, Constructor]) => new (Constructor as new (message: string) => { code: string, statusCode: number })('x'))
  t.same(Object.fromEntries(server.map((e) => [e.code, e.statusCode])), CONTRACT_ERROR_CODES)
})

test('jobs: submitJob, waitForJob (long polls), jobImage, cancelJob', async (t) => {
  const { client, calls } = await setUp(t, { latencyMs: 600, env: { UPSTREAM_CONCURRENCY: '1' } })
  const image = await photo(1024, 768)
  const first = await client.submitJob(image, { preset: 'angel-soft', idempotencyKey: 'client-job-1' })
  t.match(first, { job_id: /^[A-Za-z0-9_-]{22}$/, preset: 'angel-soft' })
  const again = await client.submitJob(image, { preset: 'angel-soft', idempotencyKey: 'client-job-1' })
  t.equal(again.job_id, first.job_id, 'a retried submit gets the same job')
  const second = await client.submitJob({ path: writeTemp(image) })
  t.equal(second.status, 'queued')
  t.equal((await client.cancelJob(second.job_id)).status, 'cancelled')
  const notAgain = await failure(client.cancelJob(second.job_id))
  t.equal(notAgain.code, 'JOB_NOT_CANCELLABLE')
  t.equal(notAgain.statusCode, 409)

  const done = await client.waitForJob(first.job_id, { deadlineMs: 60_000 })
  t.equal(done.status, 'succeeded')
  const result = await client.jobImage(first.job_id)
  t.equal(result.mimeType, 'image/jpeg')
  t.equal((await sharp(result.image).metadata()).format, 'jpeg')
  t.equal(await calls(), 1, 'the cancelled job was never paid')
  t.equal((await failure(client.getJob('AAAAAAAAAAAAAAAAAAAAAA'))).code, 'NOT_FOUND')
})

function writeTemp (bytes: Buffer): string {
  const path = join(tempDir(), 'photo.jpg')
  writeFileSync(path, bytes)
  return path
}
