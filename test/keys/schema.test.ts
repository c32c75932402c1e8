import { test } from 'tap'
import { parseKeysFile } from '../../src/keys/store.js'
import { keysFile, sha256 } from './fixtures/keys-file.js'

const hash = sha256('spk_a')

/** The one-line reason parseKeysFile gives for text. */
function refusal (text: string): string {
  try {
    parseKeysFile(text, 'keys.json')
  } catch (err) {
    if ((err as Error).name === 'KeysFileError') return (err as Error).message
    throw err
  }
  throw new Error('accepted: ' + text)
}

test('refusals are one line, start with the source, and never quote a hash', async (t) => {
  const message = refusal(keysFile([{ id: 'a', sha256: hash, extra: hash }]))
  t.match(message, /^keys\.json: /)
  t.notMatch(message, /\n/)
  t.notMatch(message, hash)
})

test('not JSON: the position, not the text', async (t) => {
  const message = refusal(`{ "keys": [ { "id": "a", "sha256": "${hash}" } ]`)
  t.match(message, /^keys\.json: not valid JSON/)
  t.notMatch(message, hash)
})

test('not JSON at a known position: line and column', async (t) => {
  t.match(refusal('{\n  "keys": [1 2]\n}'), /^keys\.json: not valid JSON \(line 2, column 14\)$/)
})

test('unknown fields are refused, at the top and in an entry', async (t) => {
  t.match(refusal(JSON.stringify({ keys: [], version: 2 })), /^keys\.json: version is not a known field/)
  t.match(refusal(keysFile([{ id: 'web-app', sha256: hash, allowPrompts: true }])), /^keys\.json: keys\[0\] \("web-app"\)\.allowPrompts is not a known field/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, rateLimit: { max: 1, timeWindow: 1, burst: 2 } }])), /rateLimit\.burst is not a known field/)
  t.match(refusal(keysFile([{ id: 'a', sha256: [{ sha256: hash, expires: 'x' }] }])), /sha256\[0\]\.expires is not a known field/)
})

test('id and sha256 are required', async (t) => {
  t.match(refusal(keysFile([{ sha256: hash }])), /^keys\.json: keys\[0\]\.id is missing/)
  t.match(refusal(keysFile([{ id: 'a' }])), /^keys\.json: keys\[0\] \("a"\)\.sha256 is missing/)
  t.match(refusal('{}'), /^keys\.json: keys is missing/)
  t.match(refusal('[]'), /^keys\.json: the file must be/)
})

test('a hash must be 64 hex characters', async (t) => {
  t.match(refusal(keysFile([{ id: 'a', sha256: 'abc' }])), /^keys\.json: keys\[0\] \("a"\)\.sha256 must be a sha256 as 64 hex characters$/)
  t.match(refusal(keysFile([{ id: 'a', sha256: 42 }])), /sha256 must be a sha256 \(64 hex characters\), or a non-empty list/)
  t.match(refusal(keysFile([{ id: 'a', sha256: 'z'.repeat(64) }])), /sha256 must be/)
  t.match(refusal(keysFile([{ id: 'a', sha256: [] }])), /sha256 must be/)
  t.match(refusal(keysFile([{ id: 'a', sha256: [hash, 'abc'] }])), /sha256\[1\] must be a sha256 as 64 hex characters/)
})

test('ids are 1 to 64 plain characters', async (t) => {
  t.match(refusal(keysFile([{ id: 'web app', sha256: hash }])), /keys\[0\] \("web app"\)\.id must be 1 to 64 of A-Z a-z 0-9 \. _ -/)
  t.match(refusal(keysFile([{ id: '', sha256: hash }])), /\.id must be/)
  t.match(refusal(keysFile([{ id: 'x'.repeat(65), sha256: hash }])), /\.id must be/)
})

test('duplicate ids are refused', async (t) => {
  t.equal(refusal(keysFile([{ id: 'a', sha256: hash }, { id: 'a', sha256: sha256('spk_b') }])),
    'keys.json: keys[1]: id "a" is used twice; ids must be unique')
})

test('one hash under two entries is refused (one key must mean one id)', async (t) => {
  t.match(refusal(keysFile([{ id: 'a', sha256: hash }, { id: 'b', sha256: [sha256('spk_b'), hash.toUpperCase()] }])),
    /^keys\.json: keys\[1\] \("b"\): a sha256 is listed twice \(first under "a"\)/)
})

test('expiresAt must be an ISO 8601 date-time with a zone', async (t) => {
  t.match(refusal(keysFile([{ id: 'a', sha256: [{ sha256: hash, expiresAt: 'next tuesday' }] }])),
    /keys\[0\] \("a"\)\.sha256\[0\]\.expiresAt must be an ISO 8601 date-time with a zone/)
  t.match(refusal(keysFile([{ id: 'a', sha256: [{ sha256: hash, expiresAt: '2025-01-31T00:00:00' }] }])), /expiresAt must be/)
  t.match(refusal(keysFile([{ id: 'a', sha256: [{ sha256: hash, expiresAt: '2025-13-45' }] }])), /expiresAt must be/)
})

test('rateLimit needs a positive max and a valid window', async (t) => {
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, rateLimit: { max: 0, timeWindow: 1000 } }])), /rateLimit\.max must be an integer >= 1/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, rateLimit: { max: 5 } }])), /rateLimit\.timeWindow is missing/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, rateLimit: { max: 5, timeWindow: 'a while' } }])),
    /rateLimit\.timeWindow must be a positive number of milliseconds or a duration/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, rateLimit: { max: 5, timeWindow: 0 } }])), /rateLimit\.timeWindow must be/)
})

test('field types are checked', async (t) => {
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, dailyQuota: -1 }])), /dailyQuota must be an integer >= 0/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, dailyQuota: '1000' }])), /dailyQuota must be/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, allowPrompt: 'yes' }])), /allowPrompt must be true or false/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, disabled: 1 }])), /disabled must be true or false/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, presets: 'angel' }])), /presets must be "\*" or a non-empty list/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, presets: [] }])), /presets must be/)
  t.match(refusal(keysFile([{ id: 'a', sha256: hash, presets: ['angel', 'angel'] }])), /presets must be/)
  t.match(refusal(JSON.stringify({ keys: {} })), /^keys\.json: keys must be a list of key entries/)
  t.match(refusal(JSON.stringify({ keys: ['a'] })), /^keys\.json: keys\[0\] must be a key entry/)
})
