import { randomBytes } from 'node:crypto'
import { test } from 'tap'
import { jsonWithBase64 } from '../src/json-with-base64.js'
import { upstreamPayload } from '../src/upstream/client.js'
import { photo, startProxy, startRecordingUpstream } from './fixtures/harness.js'
import { stylize } from './upstream/fixtures/client.js'

test('the base64 is written in as the last field, and the whole parses as the same object', async (t) => {
  const base64 = randomBytes(30_000).toString('base64')
  const fields = { request_id: 'r1', upstream_request_id: null, preset: 'angel', note: 'quote " and \\ and é' }
  const bytes = jsonWithBase64(fields, 'image_base64', base64)
  t.same(JSON.parse(bytes.toString()), { ...fields, image_base64: base64 })
  t.ok(bytes.toString().endsWith(`"image_base64":"${base64}"}`), 'last, copied as is')
  t.same(JSON.parse(jsonWithBase64({}, 'image', 'QUJD', true).toString()), { image: ['QUJD'] }, 'no other fields, in an array')
})

test('a value that is not base64 (a quote or a backslash) is still escaped: nothing can break out of the string', async (t) => {
  const hostile = 'AAAA"],"req_key":"other_model","x":["\\'
  const parsed = JSON.parse(jsonWithBase64({ req_key: 'img2img_pastel_boys_style_usage' }, 'binary_data_base64', hostile, true).toString())
  t.same(parsed, { req_key: 'img2img_pastel_boys_style_usage', binary_data_base64: [hostile] })
})

test('the upstream payload is the body\'s JSON with its image, or plain JSON without one', async (t) => {
  const body = { req_key: 'img2img_pastel_boys_style_usage', seed: 7, binary_data_base64: ['/9j/AAAA+/=='], return_url: true }
  t.same(JSON.parse(Buffer.concat(upstreamPayload(body)).toString()), body)
  const byUrl = { req_key: 'img2img_pastel_boys_style_usage', image_urls: ['https://example.com/a.jpg'] }
  t.equal(Buffer.concat(upstreamPayload(byUrl)).toString(), JSON.stringify(byUrl))
})

test('an upstream image whose base64 is wrapped in lines is answered as valid JSON, the string as the upstream sent it', async (t) => {
  const wrapped = (await photo(800, 600)).toString('base64').replace(/.{76}/g, '$&\r\n')
  const upstream = await startRecordingUpstream(t, async () => ({
    status: 200,
    body: { code: 10000, message: 'Success', request_id: 'wrapped-lines', data: { binary_data_base64: [wrapped] } }
  }))
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const answer = await stylize(proxy.url)
  t.equal(answer.status, 200)
  t.equal(answer.json.image_base64, wrapped)
  t.equal(answer.json.upstream_request_id, 'wrapped-lines')
})
