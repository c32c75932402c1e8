// A burst that arrives together, before any of it reaches the upstream queue: each request is given its
// place in line before its body is read, so past the free slots and the room in line the rest are refused
// at once, unread, instead of after reading and preparing photos that could never be sent.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { test } from 'tap'
import { DEFAULT_KEYS, photo, startHeldUpstream, startProxy } from '../fixtures/harness.js'

interface HalfSent { socket: Socket, rest: Buffer, answer: () => string, closed: Promise<unknown> }

/** A POST /stylize whose headers and first bytes are sent, the rest of its JSON body held back. */
async function halfSent (url: string, body: Buffer): Promise<HalfSent> {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += String(chunk) })
  socket.on('error', () => {})
  const closed = once(socket, 'close')
  socket.write(`POST /stylize HTTP/1.1\r\nhost: proxy\r\nauthorization: Bearer ${DEFAULT_KEYS[0]!.key}\r\n` +
    `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`)
  socket.write(body.subarray(0, 64))
  return { socket, rest: body.subarray(64), answer: () => text, closed }
}

function statusOf (answer: string): number | undefined {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]
  return status === undefined ? undefined : Number(status)
}

test('12 at once against 1 slot and a line of 2: 9 are refused 503 before sending their bodies, 3 are served', async (t) => {
  const upstream = await startHeldUpstream(t)
  const proxy = await startProxy(t, {
    upstreamUrl: upstream.url,
    env: { UPSTREAM_CONCURRENCY: '1', UPSTREAM_QUEUE_MAX: '2', IMAGE_WORK_MAX: '100', RATE_LIMIT_MAX: '1000' }
  })
  const body = Buffer.from(JSON.stringify({ image_base64: (await photo(1200, 1600)).toString('base64') }))
  const requests = await Promise.all(Array.from({ length: 12 }, async () => await halfSent(proxy.url, body)))

  // the refusals come while every body is still incomplete: they cannot have waited for one to be read
  await eventuallyAnswered(requests, 9)
  const refused = requests.filter((request) => statusOf(request.answer()) !== undefined)
  t.equal(refused.length, 9, '9 answered before their bodies were sent')
  for (const request of refused) {
    t.equal(statusOf(request.answer()), 503)
    t.match(request.answer(), /"code":"UPSTREAM_BUSY"/)
    t.match(request.answer(), /\r\nretry-after: \d+\r\n/i)
  }
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream yet')

  // the admitted three send their photos: one call at a time, none refused
  const admitted = requests.filter((request) => statusOf(request.answer()) === undefined)
  for (const request of admitted) request.socket.write(request.rest)
  await upstream.reached
  upstream.release()
  await Promise.all(admitted.map(async (request) => await request.closed))
  t.same(admitted.map((request) => statusOf(request.answer())), [200, 200, 200])
  t.equal(upstream.requests.length, 3)
})

/** Waits until `count` of the requests have an answer's status line (each answer is a socket event). */
async function eventuallyAnswered (requests: HalfSent[], count: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = (): void => { if (requests.filter((request) => statusOf(request.answer()) !== undefined).length >= count) resolve() }
    for (const request of requests) request.socket.on('data', check)
    check()
  })
}
