import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import sharp from 'sharp'
import { test } from 'tap'
import { request } from 'undici'
import { callEmulator, cvBody, makeJpeg, PROMPT, REQ_KEY, startEmulator } from '../fixtures/emulator-client.js'

function decodeOutput (json: any): Buffer {
  return Buffer.from(json.data.binary_data_base64[0], 'base64')
}

test('a signed call gets a JPEG whose long side is 704 by default, nearly grey', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg()))
  t.equal(response.status, 200)
  t.match(response.json, {
    code: 10000,
    status: 10000,
    message: 'Success',
    data: { algorithm_base_resp: { status_code: 0, status_message: 'Success' }, image_urls: null }
  })
  t.match(response.json.request_id, /^\d{14}[0-9A-F]{20}$/)
  t.match(response.json.time_elapsed, /^\d+\.\d{9}s$/)
  const output = decodeOutput(response.json)
  const metadata = await sharp(output).metadata()
  t.equal(metadata.format, 'jpeg')
  t.equal(metadata.width, 704)
  t.equal(metadata.height, 528)
  const { channels } = await sharp(output).stats()
  const means = channels.slice(0, 3).map((channel) => channel.mean)
  t.ok(Math.max(...means) - Math.min(...means) < 20, `channel means ${means.join(', ')} are close (grey)`)
  t.ok(Math.min(...means) > 120, 'the statue look is bright')
})

test('long_resolution sets the long side, portrait included', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg(768, 1024), { long_resolution: 1000 }))
  t.equal(response.status, 200)
  const metadata = await sharp(decodeOutput(response.json)).metadata()
  t.equal(metadata.height, 1000)
  t.equal(metadata.width, 750)
})

test('the same input and parameters give the same bytes', async (t) => {
  const { origin } = await startEmulator(t)
  const body = cvBody(await makeJpeg(), { logo_info: { add_logo: true } })
  const first = await callEmulator(origin, body)
  const second = await callEmulator(origin, body)
  t.equal(first.json.data.binary_data_base64[0], second.json.data.binary_data_base64[0])
  t.not(first.json.request_id, second.json.request_id)
})

test('a PNG with transparency is accepted and answered as JPEG', async (t) => {
  const { origin } = await startEmulator(t)
  const png = await sharp({ create: { width: 800, height: 600, channels: 4, background: { r: 10, g: 200, b: 10, alpha: 0.5 } } }).png().toBuffer()
  const response = await callEmulator(origin, cvBody(png))
  t.equal(response.status, 200)
  t.equal((await sharp(decodeOutput(response.json)).metadata()).format, 'jpeg')
})

test('add_logo marks the chosen corner and leaves the opposite one alone', async (t) => {
  const { origin } = await startEmulator(t)
  const image = await makeJpeg()
  const plain = decodeOutput((await callEmulator(origin, cvBody(image))).json)
  const marked = decodeOutput((await callEmulator(origin, cvBody(image, {
    logo_info: { add_logo: true, position: 2, language: 1, opacity: 0.8 }
  }))).json)
  async function cornerMean (jpeg: Buffer, left: number, top: number): Promise<number> {
    const pixels = await sharp(jpeg).extract({ left, top, width: 120, height: 40 }).greyscale().raw().toBuffer()
    return pixels.reduce((sum, value) => sum + value, 0) / pixels.length
  }
  // position 2 is top-left
  const topLeftDrop = await cornerMean(plain, 0, 0) - await cornerMean(marked, 0, 0)
  t.ok(topLeftDrop > 20, `the top-left corner darkened by ${topLeftDrop}`)
  const bottomRightChange = Math.abs(await cornerMean(plain, 704 - 120, 528 - 40) - await cornerMean(marked, 704 - 120, 528 - 40))
  t.ok(bottomRightChange < 2, 'the bottom-right corner is untouched')
})

test('add_logo false (or no logo_info) adds no mark', async (t) => {
  const { origin } = await startEmulator(t)
  const image = await makeJpeg()
  const plain = await callEmulator(origin, cvBody(image))
  const off = await callEmulator(origin, cvBody(image, { logo_info: { add_logo: false, position: 1 } }))
  t.equal(plain.json.data.binary_data_base64[0], off.json.data.binary_data_base64[0])
})

test('return_url answers a URL on the emulator that serves the image', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg(), { return_url: true }))
  t.equal(response.status, 200)
  t.equal(response.json.data.binary_data_base64, null)
  const [url] = response.json.data.image_urls as string[]
  t.ok(url?.startsWith(`${origin}/`), `${url} is under ${origin}`)
  const image = await request(url ?? '')
  t.equal(image.statusCode, 200)
  t.equal(image.headers['content-type'], 'image/jpeg')
  const metadata = await sharp(Buffer.from(await image.body.arrayBuffer())).metadata()
  t.equal(metadata.width, 704)
})

test('an unknown result id is 404', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await request(`${origin}/_emulator/results/${'0'.repeat(32)}.jpeg`)
  t.equal(response.statusCode, 404)
  await response.body.dump()
})

test('image_urls: the emulator downloads the image itself', async (t) => {
  const jpeg = await makeJpeg()
  const files = createServer((req, res) => {
    if (req.url === '/in.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
  t.teardown(() => files.close())
  const filesOrigin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`
  const { origin } = await startEmulator(t)

  const ok = await callEmulator(origin, { req_key: REQ_KEY, prompt: PROMPT, image_urls: [`${filesOrigin}/in.jpg`] })
  t.equal(ok.status, 200)
  t.equal((await sharp(decodeOutput(ok.json)).metadata()).width, 704)

  const missing = await callEmulator(origin, { req_key: REQ_KEY, prompt: PROMPT, image_urls: [`${filesOrigin}/nope.jpg`] })
  t.equal(missing.status, 400)
  t.equal(missing.json.code, 50207)
})

test('a return_url link says when it expires (X-Tos-Date, X-Tos-Expires) and answers 403 past it', async (t) => {
  const { origin } = await startEmulator(t, { urlTtlMs: 0 })
  const response = await callEmulator(origin, cvBody(await makeJpeg(), { return_url: true }))
  const [url] = response.json.data.image_urls as string[]
  const query = new URL(url ?? '').searchParams
  t.match(query.get('X-Tos-Date'), /^\d{8}T\d{6}Z$/)
  t.equal(query.get('X-Tos-Expires'), '0')
  const expired = await request(url ?? '')
  t.equal(expired.statusCode, 403, 'a link past its time is refused')
  await expired.body.dump()
})

test('a return_url link lives 24 hours by default', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg(), { return_url: true }))
  const [url] = response.json.data.image_urls as string[]
  t.equal(new URL(url ?? '').searchParams.get('X-Tos-Expires'), '86400')
})
