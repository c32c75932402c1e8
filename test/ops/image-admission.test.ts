// At most IMAGE_WORK_MAX photos read and prepared at once: past it, 503 OVERLOADED with Retry-After before
// the body is read, and the slot is back as soon as a photo is prepared.
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'tap'
import { ImageAdmission } from '../../src/ops/image-admission.js'
import { startHeldUpstream, startProxy, startRecordingUpstream } from '../fixtures/harness.js'
import { eventually, imageBase64, metricsText, seriesValue, stylize, WEB_KEY } from '../upstream/fixtures/client.js'

/** A POST /stylize whose body is sent up to its last byte, and the rest when told: it holds its slot meanwhile. */
async function slowUpload (url: string, body: string) {
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  await once(socket, 'connect')
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += String(chunk) })
  socket.on('error', () => {})
  socket.write(`POST /stylize HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${WEB_KEY}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, -1)}`)
  return {
    finish: async (): Promise<string> => {
      socket.write(body.slice(-1))
      await once(socket, 'close')
      return answer
    }
  }
}

test('past IMAGE_WORK_MAX photos in work, 503 OVERLOADED with Retry-After before the body is read', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { IMAGE_WORK_MAX: '2' } })
  const body = JSON.stringify({ image_base64: await imageBase64() })
  const uploads = [await slowUpload(proxy.url, body), await slowUpload(proxy.url, body)]
  const inWork = async (): Promise<number | undefined> => seriesValue(await metricsText(proxy.url), 'stylize_image_work_in_progress')
  await eventually(async () => await inWork() === 2, 10_000)
  t.pass('both slow uploads hold a slot')

  const started = performance.now()
  const refused = await stylize(proxy.url)
  t.equal(refused.status, 503)
  t.equal(refused.json.code, 'OVERLOADED')
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After')
  t.ok(performance.now() - started < 5000, 'at once')
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream')

  for (const upload of uploads) t.match(await upload.finish(), /^HTTP\/1\.1 200 /, 'the admitted ones are served')
  t.equal(await inWork(), 0, 'their slots are free again once their photos were prepared')
  t.equal((await stylize(proxy.url)).status, 200, 'and the next one is admitted')
})

test('a slot is given back once, whatever happens', async (t) => {
  const admission = new ImageAdmission(1)
  const release = admission.tryEnter()
  t.ok(release)
  t.equal(admission.tryEnter(), undefined, 'the one slot is taken')
  release?.()
  release?.()
  t.equal(admission.inUse, 0)
  t.ok(admission.tryEnter(), 'free again')
  t.equal(admission.refused, 1)
})

test('a client that leaves while its duplicate waits for the first request gives its slot back', async (t) => {
  const upstream = await startHeldUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { IMAGE_WORK_MAX: '3' } })
  const inWork = async (): Promise<number | undefined> => seriesValue(await metricsText(proxy.url), 'stylize_image_work_in_progress')
  const first = stylize(proxy.url, {}, { headers: { 'idempotency-key': 'leaving' } })
  await eventually(() => upstream.requests.length === 1, 10_000)
  // the duplicate sends its whole body, then waits for the first under the same key; its client leaves
  const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  const body = JSON.stringify({ image_base64: await imageBase64() })
  socket.write(`POST /stylize HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer ${WEB_KEY}\r\nIdempotency-Key: leaving\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  await eventually(async () => await inWork() === 1, 10_000)
  socket.destroy()
  upstream.release()
  t.equal((await first).status, 200)
  await eventually(async () => await inWork() === 0, 10_000)
  t.pass('no slot is left taken')
})
