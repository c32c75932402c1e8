// IMAGE_WORK_NICE on the compiled server (`npm start`): every thread but the event loop's runs below it,
// libvips' workers started for a photo included, so that refusals and answers never wait for image work.
import { readdirSync, readFileSync } from 'node:fs'
import { test, type Test } from 'tap'
import { EMULATOR_AK, EMULATOR_SK, photo, startEmulator, writeKeysFile } from '../fixtures/harness.js'
import { startServer } from '../fixtures/server-process.js'
import { WEB_KEY, stylize } from '../upstream/fixtures/client.js'

interface Thread { tid: number, name: string, nice: number }

/** The process's threads with their names and nice values, read from /proc. */
function threadsOf (pid: number): Thread[] {
  return readdirSync(`/proc/${pid}/task`).map((entry) => {
    const stat = readFileSync(`/proc/${pid}/task/${entry}/stat`, 'utf8')
    // "tid (comm) state ..." : the fields after the name, where nice is the 19th field of the whole line
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { tid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), nice: Number(fields[16]) }
  })
}

async function serverAfterOnePhoto (t: Test, env: Record<string, string>) {
  const emulator = await startEmulator(t)
  const server = await startServer(t, {
    VOLC_ACCESS_KEY_ID: EMULATOR_AK,
    VOLC_SECRET_ACCESS_KEY: EMULATOR_SK,
    API_KEYS_FILE: writeKeysFile([{ id: 'web-app', key: WEB_KEY }]),
    UPSTREAM_URL: emulator.url,
    ...env
  })
  // a photo too big to pass through: sharp decodes, resizes and encodes it on its own threads
  const answer = await stylize(server.url, { image_base64: (await photo(1200, 1600)).toString('base64') })
  t.equal(answer.status, 200)
  return threadsOf(server.child.pid as number)
}

test('by default every thread but the event loop runs at nice 10, libvips workers included', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const threads = await serverAfterOnePhoto(t, {})
  const [main, ...others] = threads.sort((a, b) => a.tid - b.tid)
  t.equal(main?.nice, 0, 'the event loop keeps its priority')
  t.ok(others.length >= 4, `${others.length} other threads`)
  t.same(others.filter((thread) => thread.nice !== 10), [], 'every other thread at nice 10')
  t.ok(others.some((thread) => thread.name === 'libvips worker'), 'libvips workers were started, and inherited it')
})

test('IMAGE_WORK_NICE=0 leaves every thread level with the event loop', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const threads = await serverAfterOnePhoto(t, { IMAGE_WORK_NICE: '0' })
  t.same(threads.filter((thread) => thread.nice !== 0), [])
})
