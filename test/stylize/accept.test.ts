import { test } from 'tap'
import { wantsImageBytes } from '../../src/stylize/accept.js'

test('JSON when Accept is absent, empty, */* or application/json', async (t) => {
  for (const accept of [undefined, '', '*/*', 'application/json', 'application/json, */*;q=0.8']) {
    t.equal(wantsImageBytes(accept), false, String(accept))
  }
})

test('bytes for any image range preferred to JSON', async (t) => {
  for (const accept of ['image/*', 'image/jpeg', 'image/png', 'image/webp, */*', 'application/json;q=0.5, image/jpeg']) {
    t.equal(wantsImageBytes(accept), true, accept)
  }
})

test('JSON when it ranks above the image, or the image has q=0', async (t) => {
  t.equal(wantsImageBytes('image/png;q=0.5, application/json'), false)
  t.equal(wantsImageBytes('image/*;q=0'), false)
})
