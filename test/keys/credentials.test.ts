import { test } from 'tap'
import { bearerToken, presentedApiKey } from '../../src/keys/credentials.js'

test('Authorization: Bearer <key>', async (t) => {
  t.equal(presentedApiKey({ authorization: 'Bearer spk_abc' }), 'spk_abc')
})

test('the Bearer scheme is case-insensitive and spaces are trimmed', async (t) => {
  t.equal(presentedApiKey({ authorization: 'bearer spk_abc' }), 'spk_abc')
  t.equal(presentedApiKey({ authorization: 'BEARER   spk_abc  ' }), 'spk_abc')
})

test('X-API-Key: <key>', async (t) => {
  t.equal(presentedApiKey({ 'x-api-key': ' spk_abc ' }), 'spk_abc')
})

test('Bearer wins over X-API-Key', async (t) => {
  t.equal(presentedApiKey({ authorization: 'Bearer from-bearer', 'x-api-key': 'from-header' }), 'from-bearer')
})

test('another scheme is not a key, but X-API-Key still is', async (t) => {
  t.equal(presentedApiKey({ authorization: 'Basic dXNlcjpwYXNz' }), undefined)
  t.equal(presentedApiKey({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'spk_abc' }), 'spk_abc')
  t.equal(presentedApiKey({ authorization: 'Bearerspk_abc' }), undefined)
})

test('empty values are ignored', async (t) => {
  t.equal(presentedApiKey({}), undefined)
  t.equal(presentedApiKey({ authorization: 'Bearer ', 'x-api-key': '' }), undefined)
  t.equal(presentedApiKey({ authorization: 'Bearer    ', 'x-api-key': 'spk_abc' }), 'spk_abc')
  t.equal(presentedApiKey({ 'x-api-key': '   ' }), undefined)
})

test('one X-API-Key given as a list is used; two are ambiguous', async (t) => {
  t.equal(presentedApiKey({ 'x-api-key': ['spk_abc'] }), 'spk_abc')
  t.equal(presentedApiKey({ 'x-api-key': ['spk_abc', 'spk_def'] }), undefined)
})

test('bearerToken reads a metrics token the same way', async (t) => {
  t.equal(bearerToken('Bearer scrape-me'), 'scrape-me')
  t.equal(bearerToken(undefined), undefined)
})
