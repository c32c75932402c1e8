import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { test } from 'tap'
import { KeyRing } from '../../src/keys/ring.js'
import { keysFile, sha256 } from './fixtures/keys-file.js'

/** A real pino logger whose lines the test can read. */
function capturingLogger (): { log: ReturnType<typeof pino>, lines: Array<Record<string, unknown>>, text: () => string } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { log: pino({ level: 'info' }, stream), lines, text: () => JSON.stringify(lines) }
}

async function until (check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await sleep(20)
  }
}

test('load reads the file and logs how many keys, never a hash', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }, { id: 'b', sha256: sha256('spk_b') }]) })
  const { log, lines, text } = capturingLogger()
  const ring = await KeyRing.load(join(dir, 'keys.json'), log)
  t.equal(ring.lookup('spk_a')?.id, 'a')
  t.equal(ring.size, 2)
  t.match(lines, [{ msg: 'client keys loaded', keys: 2 }])
  t.notMatch(text(), sha256('spk_a'))
})

test('load refuses a broken file (the service must not start)', async (t) => {
  const dir = t.testdir({ 'keys.json': '{ "keys": [ { "id": "a" } ] }' })
  await t.rejects(KeyRing.load(join(dir, 'keys.json'), capturingLogger().log), { name: 'KeysFileError' })
})

test('lookup passes the clock on, so expiry applies', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: [{ sha256: sha256('spk_a'), expiresAt: '2025-01-01T00:00:00Z' }] }]) })
  const ring = await KeyRing.load(join(dir, 'keys.json'), capturingLogger().log)
  t.equal(ring.lookup('spk_a', new Date('2024-12-31T00:00:00Z'))?.id, 'a')
  t.equal(ring.lookup('spk_a', new Date('2025-01-01T00:00:00Z')), undefined)
  t.equal(ring.lookup('spk_a'), undefined, 'now is past 2025-01-01')
})

test('reload installs a changed file', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const { log, lines } = capturingLogger()
  const ring = await KeyRing.load(join(dir, 'keys.json'), log)
  await writeFile(join(dir, 'keys.json'), keysFile([{ id: 'b', sha256: sha256('spk_b') }]))
  t.equal(await ring.reload(), true)
  t.equal(ring.lookup('spk_a'), undefined, 'the removed key is gone')
  t.equal(ring.lookup('spk_b')?.id, 'b')
  t.match(lines.at(-1), { msg: 'client keys reloaded', keys: 1 })
})

test('a broken reload keeps the last good keys and logs why, without hashes', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const { log, lines, text } = capturingLogger()
  const ring = await KeyRing.load(join(dir, 'keys.json'), log)
  await writeFile(join(dir, 'keys.json'), keysFile([{ id: 'b', sha256: sha256('spk_b'), allowPrompts: true }]))
  t.equal(await ring.reload(), false)
  t.equal(ring.lookup('spk_a')?.id, 'a', 'the last good keys still answer')
  t.equal(ring.lookup('spk_b'), undefined)
  t.match(lines.at(-1), { level: 50, msg: /keeping the last good keys/, reason: /allowPrompts is not a known field/, keys: 1 })
  t.notMatch(text(), sha256('spk_b'))
})

test('a missing file on reload keeps the last good keys', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const { log, lines } = capturingLogger()
  const ring = await KeyRing.load(join(dir, 'keys.json'), log)
  await rename(join(dir, 'keys.json'), join(dir, 'moved.json'))
  t.equal(await ring.reload(), false)
  t.equal(ring.lookup('spk_a')?.id, 'a')
  t.match(lines.at(-1), { reason: /ENOENT/ })
})

test('of two overlapping reloads, the later one decides', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const ring = await KeyRing.load(join(dir, 'keys.json'), capturingLogger().log)
  await writeFile(join(dir, 'keys.json'), keysFile([{ id: 'b', sha256: sha256('spk_b') }]))
  const results = await Promise.all([ring.reload(), ring.reload()])
  t.same(results, [false, true])
  t.equal(ring.lookup('spk_b')?.id, 'b')
})

test('watch reloads when the file is replaced, and stops when told', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]) })
  const ring = await KeyRing.load(join(dir, 'keys.json'), capturingLogger().log)
  const stop = ring.watch(20)
  // As editors and Kubernetes do: write aside, then rename over the file.
  await writeFile(join(dir, 'keys.json.tmp'), keysFile([{ id: 'b', sha256: sha256('spk_b') }]))
  await rename(join(dir, 'keys.json.tmp'), join(dir, 'keys.json'))
  await until(() => ring.lookup('spk_b') !== undefined)
  t.equal(ring.lookup('spk_a'), undefined)
  stop()
  await writeFile(join(dir, 'keys.json'), keysFile([{ id: 'c', sha256: sha256('spk_c') }]))
  await sleep(200)
  t.equal(ring.lookup('spk_c'), undefined, 'no reload after stop')
})

test('watch ignores other files in the directory', async (t) => {
  const dir = t.testdir({ 'keys.json': keysFile([{ id: 'a', sha256: sha256('spk_a') }]), 'other.txt': 'x' })
  const { log, lines } = capturingLogger()
  const ring = await KeyRing.load(join(dir, 'keys.json'), log)
  const stop = ring.watch(10)
  t.teardown(stop)
  await writeFile(join(dir, 'other.txt'), 'y')
  await sleep(200)
  t.equal(lines.length, 1, 'only the load line')
})
