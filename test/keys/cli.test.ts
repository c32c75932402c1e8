import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'tap'
import { KEY_PREFIX, createKey, main } from '../../src/keys/cli.js'
import { parseKeysFile } from '../../src/keys/store.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

test('createKey: a prefixed random key and the entry holding its hash', async (t) => {
  const { key, entry } = createKey('web-app')
  t.match(key, /^spk_[A-Za-z0-9_-]{43}$/, '32 random bytes in base64url after the prefix')
  t.ok(key.startsWith(KEY_PREFIX))
  t.same(entry, { id: 'web-app', sha256: sha256(key) })
  t.not(createKey('web-app').key, key, 'a new key each time')
})

test('createKey: the entry works in a keys file', async (t) => {
  const { key, entry } = createKey('web-app')
  t.equal(parseKeysFile(JSON.stringify({ keys: [entry] }), 'keys.json').lookup(key)?.id, 'web-app')
})

test('createKey refuses an id the keys file would refuse', async (t) => {
  t.throws(() => createKey('web app'), /invalid id "web app"/)
  t.throws(() => createKey('x'.repeat(65)))
})

test('main: usage and exit 2 on bad arguments', async (t) => {
  for (const args of [[], ['create'], ['delete', 'a'], ['create', 'a', 'b'], ['create', 'bad/id']]) {
    const out: string[] = []
    const err: string[] = []
    t.equal(main(args, (line) => out.push(line), (line) => err.push(line)), 2, args.join(' '))
    t.same(out, [])
    t.match(err.join('\n'), /^usage: npm run keys -- create <id>/)
  }
})

test('the command prints a key once, and an entry whose hash is that key\'s', async (t) => {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/keys/cli.ts', 'create', 'web-app'], { cwd: root })
  t.equal(stderr, '')
  const keys = stdout.match(/spk_[A-Za-z0-9_-]+/g) ?? []
  t.equal(keys.length, 1, 'the key appears once')
  const entryLine = stdout.split('\n').find((line) => line.trim().startsWith('{'))
  const entry = JSON.parse(entryLine ?? '') as { id: string, sha256: string }
  t.same(entry, { id: 'web-app', sha256: sha256(keys[0] ?? '') })
})

test('the command exits 2 with the usage on bad arguments', async (t) => {
  const failure = await run(process.execPath, ['--import', 'tsx', 'src/keys/cli.ts', 'create'], { cwd: root })
    .then(() => undefined, (err: { code: number, stderr: string, stdout: string }) => err)
  t.equal(failure?.code, 2)
  t.match(failure?.stderr, /usage: npm run keys -- create <id>/)
  t.equal(failure?.stdout, '')
})
