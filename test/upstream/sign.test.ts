import { test } from 'tap'
import { computeSignature, sha256Hex, signRequest } from '../../src/upstream/sign.js'

const host = 'visual.volcengineapi.com'
const date = new Date('2024-01-01T00:00:00Z')

function signatureOf (authorization: string | undefined): string | undefined {
  return authorization?.match(/Signature=([0-9a-f]{64})$/)?.[1]
}

test('vector A: the official signing doc example (GET, host;x-date)', async (t) => {
  const signature = computeSignature({
    method: 'GET',
    path: '/',
    query: { Action: 'ListUsers', Version: '2018-01-01', Limit: '10', Offset: '0' },
    headers: { host: 'iam.volcengineapi.com', 'x-date': '20240619T071306Z' },
    signedHeaders: ['host', 'x-date'],
    bodySha256: sha256Hex(''),
    xDate: '20240619T071306Z',
    region: 'cn-beijing',
    service: 'iam',
    secretAccessKey: 'WkRZeE1EQmxPVGhsWWpWak5HVmtNbUUxTXpZeU9UVXlOMlE1TmpZeVlqTQ=='
  })
  t.equal(signature, 'e31c4558bcfe08a286001f59cedbf0791ffd0b2362f10e55ee2627467bcdde93')
})

test('vector B: CVSync2AsyncSubmitTask', async (t) => {
  const headers = signRequest({
    method: 'POST',
    host,
    path: '/',
    query: { Action: 'CVSync2AsyncSubmitTask', Version: '2022-08-31' },
    contentType: 'application/json',
    body: '{"req_key":"jimeng_t2i_v40"}',
    date,
    region: 'cn-north-1',
    service: 'cv',
    credentials: { accessKeyId: 'AKLTtest', secretAccessKey: 'c2VjcmV0' }
  })
  t.equal(headers['x-content-sha256'], 'b1e23e1cb883cff93cc72b847e0d63ccea7f5586b3dd734101edf7d7402fb605')
  t.equal(headers['x-date'], '20240101T000000Z')
  t.match(headers.authorization, /^HMAC-SHA256 Credential=AKLTtest\/20240101\/cn-north-1\/cv\/request, SignedHeaders=content-type;host;x-content-sha256;x-date, /)
  t.equal(signatureOf(headers.authorization), 'e8bcf6ac179226df9aa6f5de8b7c496e23a3923bf4d97efc58d827502f23245e')
})

const cvBody = '{"req_key":"img2img_pastel_boys_style_usage","image_urls":["https://example.com/in.jpg"],"return_url":true}'

test('vector C: CVProcess with long-term keys', async (t) => {
  const headers = signRequest({
    method: 'POST',
    host,
    path: '/',
    query: { Action: 'CVProcess', Version: '2022-08-31' },
    contentType: 'application/json',
    body: cvBody,
    date,
    region: 'cn-north-1',
    service: 'cv',
    credentials: { accessKeyId: 'AKLTexample', secretAccessKey: 'c2VjcmV0ZXhhbXBsZQ==' }
  })
  t.equal(headers['x-content-sha256'], 'eeb776c128f047deec9983c5ad1dce6afd2a0fda1bab0a5b5c2df1875b3b9722')
  t.equal(signatureOf(headers.authorization), '710b7054f99a38ac078056913b08e05d2b7a9f00409557ab8b7ee3b55e750cbe')
  t.notOk('x-security-token' in headers)
})

test('vector E: CVProcess with an STS token signs x-security-token', async (t) => {
  const headers = signRequest({
    method: 'POST',
    host,
    path: '/',
    query: { Action: 'CVProcess', Version: '2022-08-31' },
    contentType: 'application/json',
    body: cvBody,
    date,
    region: 'cn-north-1',
    service: 'cv',
    credentials: { accessKeyId: 'AKTPexample', secretAccessKey: 'c2VjcmV0ZXhhbXBsZQ==', sessionToken: 'STSTOKENexample' }
  })
  t.equal(headers['x-security-token'], 'STSTOKENexample')
  t.match(headers.authorization, /SignedHeaders=content-type;host;x-content-sha256;x-date;x-security-token, /)
  t.equal(signatureOf(headers.authorization), 'abbe40c562c5dac86f5bdaadba213e7fc3c7c6f0ce1261a02ff40dc6c52f89f1')
})
