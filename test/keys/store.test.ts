import { join } from 'node:path'
import { test } from 'tap'
import { KeysFileError, loadKeysFile, parseKeysFile } from '../../src/keys/store.js'
import { keysFile, sha256 } from './fixtures/keys-file.js'

test('a presented key is found by its sha256, with the defaults filled in', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'web-app', sha256: sha256('spk_one') }]), 'keys.json')
  t.same(store.lookup('spk_one'), { id: 'web-app', presets: '*', allowPrompt: false, disabled: false })
  t.equal(store.size, 1)
})

test('every field of an entry is kept', async (t) => {
  const store = parseKeysFile(keysFile([{
    id: 'web-app',
    sha256: sha256('spk_one'),
    rateLimit: { max: 60, timeWindow: '1 minute' },
    dailyQuota: 1000,
    presets: ['angel', 'angel-soft'],
    allowPrompt: true,
    disabled: false
  }]), 'keys.json')
  t.same(store.lookup('spk_one'), {
    id: 'web-app',
    rateLimit: { max: 60, timeWindow: '1 minute' },
    dailyQuota: 1000,
    presets: ['angel', 'angel-soft'],
    allowPrompt: true,
    disabled: false
  })
})

test('an unknown key, a wrong case or an empty key finds nothing', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'a', sha256: sha256('spk_one') }]), 'keys.json')
  t.equal(store.lookup('spk_two'), undefined)
  t.equal(store.lookup('SPK_ONE'), undefined)
  t.equal(store.lookup(''), undefined)
})

test('each of several keys finds its own entry', async (t) => {
  const store = parseKeysFile(keysFile([
    { id: 'a', sha256: sha256('spk_a') },
    { id: 'b', sha256: sha256('spk_b') },
    { id: 'c', sha256: sha256('spk_c') }
  ]), 'keys.json')
  t.equal(store.lookup('spk_a')?.id, 'a')
  t.equal(store.lookup('spk_b')?.id, 'b')
  t.equal(store.lookup('spk_c')?.id, 'c')
  t.equal(store.size, 3)
})

test('upper-case hashes are accepted', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'a', sha256: sha256('spk_a').toUpperCase() }]), 'keys.json')
  t.equal(store.lookup('spk_a')?.id, 'a')
})

test('rotation: old and new keys work side by side under one id until the old one expires', async (t) => {
  const store = parseKeysFile(keysFile([{
    id: 'web-app',
    sha256: [
      { sha256: sha256('spk_old'), expiresAt: '2025-01-31T00:00:00Z' },
      sha256('spk_new'),
      { sha256: sha256('spk_newer') }
    ]
  }]), 'keys.json')
  const before = new Date('2025-01-30T23:59:59Z')
  const at = new Date('2025-01-31T00:00:00Z')
  t.equal(store.lookup('spk_old', before)?.id, 'web-app')
  t.equal(store.lookup('spk_new', before)?.id, 'web-app')
  t.equal(store.lookup('spk_newer', before)?.id, 'web-app')
  t.equal(store.lookup('spk_old', at), undefined, 'expired at expiresAt')
  t.equal(store.lookup('spk_new', at)?.id, 'web-app')
  t.equal(store.size, 1)
})

test('expiresAt takes an offset or a date alone', async (t) => {
  const store = parseKeysFile(keysFile([{
    id: 'a',
    sha256: [{ sha256: sha256('spk_a'), expiresAt: '2025-01-31T08:00:00+08:00' }, { sha256: sha256('spk_b'), expiresAt: '2025-02-01' }]
  }]), 'keys.json')
  t.equal(store.lookup('spk_a', new Date('2025-01-30T23:59:59Z'))?.id, 'a')
  t.equal(store.lookup('spk_a', new Date('2025-01-31T00:00:00Z')), undefined)
  t.equal(store.lookup('spk_b', new Date('2025-02-01T00:00:00Z')), undefined)
})

test('a disabled key is returned marked disabled (the caller answers 401)', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'old-app', sha256: sha256('spk_a'), disabled: true }]), 'keys.json')
  t.equal(store.lookup('spk_a')?.disabled, true)
})

test('"*" presets means all', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'a', sha256: sha256('spk_a'), presets: '*' }]), 'keys.json')
  t.equal(store.lookup('spk_a')?.presets, '*')
})

test('a rate limit window may be milliseconds', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'a', sha256: sha256('spk_a'), rateLimit: { max: 5, timeWindow: 1000 } }]), 'keys.json')
  t.same(store.lookup('spk_a')?.rateLimit, { max: 5, timeWindow: 1000 })
})

test('an empty keys list is a valid file that accepts nobody', async (t) => {
  const store = parseKeysFile('{ "keys": [] }', 'keys.json')
  t.equal(store.size, 0)
  t.equal(store.lookup('anything'), undefined)
})

test('the returned key cannot be changed by a caller', async (t) => {
  const store = parseKeysFile(keysFile([{ id: 'a', sha256: sha256('spk_a'), presets: ['angel'] }]), 'keys.json')
  const key = store.lookup('spk_a')
  t.throws(() => { (key as { allowPrompt: boolean }).allowPrompt = true })
  t.throws(() => { (key?.presets as string[]).push('angel-soft') })
})

test('loadKeysFile reads a file', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const store = await loadKeysFile(join(dir, 'keys.json'))
  t.equal(store.lookup('spk_a')?.id, 'a')
})

test('loadKeysFile refuses a missing file in one line', async (t) => {
  const dir = t.testdir({})
  await t.rejects(loadKeysFile(join(dir, 'keys.json')), { name: 'KeysFileError', message: `${join(dir, 'keys.json')}: cannot read the keys file (ENOENT)` })
})

test('KeysFileError is an Error with a stable code', async (t) => {
  const err = new KeysFileError('x')
  t.equal(err.code, 'KEYS_FILE_INVALID')
  t.ok(err instanceof Error)
})
