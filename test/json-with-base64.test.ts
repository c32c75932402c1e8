import { randomBytes } from 'node:crypto'
import { test } from 'tap'
import { jsonWithBase64 } from '../src/json-with-base64.js'
import { upstreamPayload } from '../src/upstream/client.js'

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
