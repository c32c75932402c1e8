import type { LookupAddress } from 'node:dns'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type LookupFunction, type Socket } from 'node:net'
import sharp from 'sharp'
import tap, { test, type Test } from 'tap'
import { closeImageFetchAgents, fetchImage, type FetchImageOptions } from '../../src/image/fetch.js'

// Every socket here is on loopback. Forbidden addresses appear only in the fake resolver's answers,
// which the guard must refuse before any connect.

const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } }).png().toBuffer()

interface Fixture {
  port: number
  /** requests answered */
  hits: number
  /** TCP connections accepted: a canary must stay at 0 */
  connections: number
  /** accepted sockets still open */
  open: Set<Socket>
  origin: string
}

async function listen (t: Test, server: Server | ReturnType<typeof createTcpServer>, host = '127.0.0.1'): Promise<Fixture> {
  const fixture: Fixture = { port: 0, hits: 0, connections: 0, open: new Set(), origin: '' }
  server.on('connection', (socket: Socket) => {
    fixture.connections++
    fixture.open.add(socket)
    socket.on('close', () => fixture.open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  fixture.port = (server.address() as AddressInfo).port
  fixture.origin = host.includes(':') ? `http://[${host}]:${fixture.port}` : `http://${host}:${fixture.port}`
  t.teardown(async () => {
    for (const socket of fixture.open) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return fixture
}

async function httpFixture (t: Test, handler: (req: IncomingMessage, res: ServerResponse, fixture: Fixture) => void, host?: string): Promise<Fixture> {
  const server = createServer()
  const fixture = await listen(t, server, host)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    fixture.hits++
    handler(req, res, fixture)
  })
  return fixture
}

/** An image server: /image.png answers the PNG; /hop/<n> redirects n more times before it. */
async function imageServer (t: Test, host?: string): Promise<Fixture> {
  return await httpFixture(t, (req, res) => {
    const hops = /^\/hop\/(\d+)$/.exec(req.url ?? '')
    if (hops !== null) {
      const left = Number(hops[1])
      res.writeHead(302, { location: left > 1 ? `/hop/${left - 1}` : '/image.png' }).end()
      return
    }
    if (req.url?.startsWith('/image.png') === true) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png)
      return
    }
    res.writeHead(404).end('not here')
  }, host)
}

/** A server that must never see a connection. */
async function canary (t: Test): Promise<Fixture> {
  return await httpFixture(t, (_req, res) => { res.end(png) })
}

/** Accepts connections and reads requests, but never answers. */
function silentServer (): ReturnType<typeof createTcpServer> {
  return createTcpServer((socket) => { socket.resume() })
}

/** A fake resolver: names to addresses; unknown names fail as ENOTFOUND. */
function resolver (table: Record<string, string[]>): LookupFunction & { asked: string[] } {
  const asked: string[] = []
  const resolve = ((hostname, options, callback) => {
    asked.push(hostname)
    const addresses = table[hostname.replace(/\.$/, '')]
    if (addresses === undefined) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '')
      return
    }
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    if (options.all === true) callback(null, all)
    else callback(null, all[0]?.address ?? '', all[0]?.family)
  }) as LookupFunction
  return Object.assign(resolve, { asked })
}

function options (overrides: Partial<FetchImageOptions> = {}): FetchImageOptions {
  return { timeoutMs: 2000, maxBytes: 1024 * 1024, allowHosts: [], lookup: resolver({}), ...overrides }
}

async function rejection (t: Test, promise: Promise<unknown>): Promise<Error & { code?: string, statusCode?: number }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string, statusCode?: number }
  }
  t.fail('expected a rejection')
  return new Error('resolved')
}

tap.afterEach(async () => { await closeImageFetchAgents() })

test('downloads an image from an allowed loopback host:port', async (t) => {
  const images = await imageServer(t)
  const result = await fetchImage(`${images.origin}/image.png#frag`, options({ allowHosts: [`127.0.0.1:${images.port}`] }))
  t.same(result.bytes, png)
  t.equal(result.contentType, 'image/png')
  t.equal(result.url, `${images.origin}/image.png`)
})

test('downloads through a name the resolver maps to an allowed loopback host', async (t) => {
  const images = await imageServer(t)
  const lookup = resolver({ 'images.test': ['127.0.0.1'] })
  const result = await fetchImage(`http://images.test:${images.port}/image.png`, options({ lookup, allowHosts: [`images.test:${images.port}`] }))
  t.same(result.bytes, png)
  t.same(lookup.asked, ['images.test'])
})

test('downloads from an allowed IPv6 loopback host', async (t) => {
  const images = await imageServer(t, '::1')
  const result = await fetchImage(`${images.origin}/image.png`, options({ allowHosts: [`[::1]:${images.port}`] }))
  t.same(result.bytes, png)
})

test('follows a relative redirect and reports the final URL', async (t) => {
  const images = await imageServer(t)
  const result = await fetchImage(`${images.origin}/hop/1`, options({ allowHosts: [`127.0.0.1:${images.port}`] }))
  t.same(result.bytes, png)
  t.equal(result.url, `${images.origin}/image.png`)
  t.equal(images.hits, 2)
})

test('follows exactly three redirects', async (t) => {
  const images = await imageServer(t)
  const result = await fetchImage(`${images.origin}/hop/3`, options({ allowHosts: [`127.0.0.1:${images.port}`] }))
  t.same(result.bytes, png)
  t.equal(images.hits, 4)
})

test('a fourth redirect fails the download', async (t) => {
  const images = await imageServer(t)
  const error = await rejection(t, fetchImage(`${images.origin}/hop/4`, options({ allowHosts: [`127.0.0.1:${images.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.match(error.message, /redirected more than 3 times/)
  t.equal(images.hits, 4)
})

test('maxRedirects 0 refuses any redirect', async (t) => {
  const images = await imageServer(t)
  const error = await rejection(t, fetchImage(`${images.origin}/hop/1`, options({ maxRedirects: 0, allowHosts: [`127.0.0.1:${images.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.equal(images.hits, 1)
})

test('a loopback literal that is not allowed is refused without a connection', async (t) => {
  const bird = await canary(t)
  const error = await rejection(t, fetchImage(`${bird.origin}/image.png`, options()))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(error.statusCode, 422)
  t.equal(bird.connections, 0)
})

test('allowing another port of the same host does not allow this one', async (t) => {
  const bird = await canary(t)
  const error = await rejection(t, fetchImage(`${bird.origin}/image.png`, options({ allowHosts: [`127.0.0.1:${bird.port + 1}`] })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(bird.connections, 0)
})

test('a name that resolves to loopback is refused at connect time (DNS rebinding)', async (t) => {
  const bird = await canary(t)
  const lookup = resolver({ 'rebind.test': ['127.0.0.1'] })
  const error = await rejection(t, fetchImage(`http://rebind.test:${bird.port}/image.png`, options({ lookup })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(error.message, 'image_url host rebind.test resolves to a non-public address')
  t.same(lookup.asked, ['rebind.test'], 'the guard looked the name up')
  t.equal(bird.connections, 0)
})

test('a name with one loopback address among public ones is refused before any connect', async (t) => {
  const bird = await canary(t)
  // The loopback canary comes first, so a broken guard would hit it rather than the public address.
  const lookup = resolver({ 'mixed.test': ['127.0.0.1', '93.184.216.34'] })
  const error = await rejection(t, fetchImage(`http://mixed.test:${bird.port}/image.png`, options({ lookup })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(bird.connections, 0)
})

test('names resolving to private, metadata, mapped and link-local addresses are refused', async (t) => {
  const lookup = resolver({
    'private.test': ['10.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'nat64.test': ['64:ff9b::a9fe:a9fe'],
    'ula.test': ['fd00:ec2::254'],
    'cgnat.test': ['100.100.100.200'],
    'zero.test': ['0.0.0.0']
  })
  for (const name of ['private.test', 'metadata.test', 'mapped.test', 'nat64.test', 'ula.test', 'cgnat.test', 'zero.test']) {
    const error = await rejection(t, fetchImage(`http://${name}/a.png`, options({ lookup })))
    t.equal(error.code, 'IMAGE_URL_REJECTED', name)
    t.notMatch(error.message, /10\.0\.0\.1|169\.254|ffff|a9fe|fd00|100\.100|0\.0\.0\.0/, 'the address is not revealed')
  }
})

test('a redirect from an allowed host to a forbidden name is refused before connecting', async (t) => {
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(302, { location: 'http://evil.test/latest/meta-data/' }).end() })
  const lookup = resolver({ 'evil.test': ['10.0.0.1'] })
  const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ lookup, allowHosts: [`127.0.0.1:${hop.port}`] })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.match(error.message, /evil\.test/)
  t.same(lookup.asked, ['evil.test'])
})

test('a redirect from an allowed host to a loopback literal is refused (canary untouched)', async (t) => {
  const bird = await canary(t)
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(307, { location: `${bird.origin}/steal` }).end() })
  const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ allowHosts: [`127.0.0.1:${hop.port}`] })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(hop.hits, 1)
  t.equal(bird.connections, 0)
})

test('a redirect to a name that resolves to the canary is refused at connect time', async (t) => {
  const bird = await canary(t)
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(301, { location: `http://canary.test:${bird.port}/` }).end() })
  const lookup = resolver({ 'canary.test': ['127.0.0.1'] })
  const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ lookup, allowHosts: [`127.0.0.1:${hop.port}`] })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.equal(bird.connections, 0)
})

test('redirects to other schemes, credentials and localhost are refused', async (t) => {
  const targets = ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'http://user:pw@example.test/', 'http://localhost/', 'http://[::1]/']
  let next = 0
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(302, { location: targets[next++] }).end() })
  for (const target of targets) {
    const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ allowHosts: [`127.0.0.1:${hop.port}`] })))
    t.equal(error.code, 'IMAGE_URL_REJECTED', target)
  }
})

test('a redirect without Location fails the download', async (t) => {
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(302).end() })
  const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ allowHosts: [`127.0.0.1:${hop.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
})

test('a redirect to an unparseable Location is refused', async (t) => {
  const hop = await httpFixture(t, (_req, res) => { res.writeHead(302, { location: 'http://[::1' }).end() })
  const error = await rejection(t, fetchImage(`${hop.origin}/start`, options({ allowHosts: [`127.0.0.1:${hop.port}`] })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
})

test('a 404 fails the download and names the status', async (t) => {
  const images = await imageServer(t)
  const error = await rejection(t, fetchImage(`${images.origin}/missing.png?token=s3cret`, options({ allowHosts: [`127.0.0.1:${images.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.equal(error.message, '127.0.0.1 answered HTTP 404')
})

test('an empty 200 body fails the download', async (t) => {
  const empty = await httpFixture(t, (_req, res) => { res.writeHead(200, { 'content-type': 'image/png' }).end() })
  const error = await rejection(t, fetchImage(`${empty.origin}/`, options({ allowHosts: [`127.0.0.1:${empty.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.match(error.message, /empty body/)
})

test('a Content-Length over the limit is refused 413 before reading the body', async (t) => {
  const big = await httpFixture(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10_000_000 })
    res.write(Buffer.alloc(1024))
  })
  const started = Date.now()
  const error = await rejection(t, fetchImage(`${big.origin}/`, options({ maxBytes: 1000, allowHosts: [`127.0.0.1:${big.port}`] })))
  t.equal(error.code, 'PAYLOAD_TOO_LARGE')
  t.equal(error.statusCode, 413)
  t.ok(Date.now() - started < 1000)
})

test('a chunked body growing past the limit is cut off with 413', async (t) => {
  let sent = 0
  const endless = await httpFixture(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' })
    const pump = setInterval(() => {
      sent += 4096
      res.write(Buffer.alloc(4096))
    }, 5)
    res.on('close', () => clearInterval(pump))
  })
  const error = await rejection(t, fetchImage(`${endless.origin}/`, options({ maxBytes: 50_000, allowHosts: [`127.0.0.1:${endless.port}`] })))
  t.equal(error.code, 'PAYLOAD_TOO_LARGE')
  t.ok(sent < 1_000_000, 'stopped soon after the limit')
  await waitFor(() => endless.open.size === 0)
  t.equal(endless.open.size, 0, 'the connection was closed')
})

test('bytes sent past a declared Content-Length are not read', async (t) => {
  const liar = await httpFixture(t, (req) => {
    req.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: ${png.length}\r\n\r\n`)
    req.socket.write(Buffer.concat([png, Buffer.alloc(200_000)]))
  })
  const result = await fetchImage(`${liar.origin}/`, options({ maxBytes: 100_000, allowHosts: [`127.0.0.1:${liar.port}`] }))
  t.same(result.bytes, png)
})

test('a slow-drip body ends with IMAGE_FETCH_FAILED within the deadline', async (t) => {
  const drip = await httpFixture(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' })
    const pump = setInterval(() => res.write('x'), 50)
    res.on('close', () => clearInterval(pump))
  })
  const started = Date.now()
  const error = await rejection(t, fetchImage(`${drip.origin}/`, options({ timeoutMs: 400, allowHosts: [`127.0.0.1:${drip.port}`] })))
  const elapsed = Date.now() - started
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.match(error.message, /within 400 ms/)
  t.ok(elapsed >= 390 && elapsed < 400 + 300, `ended after ${elapsed} ms`)
  await waitFor(() => drip.open.size === 0)
  t.equal(drip.open.size, 0, 'the connection was closed')
})

test('a server that never answers ends within the deadline and its socket is closed', async (t) => {
  const silent = await listen(t, silentServer())
  const started = Date.now()
  const error = await rejection(t, fetchImage(`${silent.origin}/`, options({ timeoutMs: 300, allowHosts: [`127.0.0.1:${silent.port}`] })))
  const elapsed = Date.now() - started
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.ok(elapsed >= 290 && elapsed < 300 + 300, `ended after ${elapsed} ms`)
  t.equal(silent.connections, 1)
  await waitFor(() => silent.open.size === 0)
  t.equal(silent.open.size, 0, 'the connection was closed')
})

test('a resolver that never answers ends within the deadline', async (t) => {
  const hanging = (() => {}) as LookupFunction
  const started = Date.now()
  const error = await rejection(t, fetchImage('http://slow-dns.test/a.png', options({ timeoutMs: 300, lookup: hanging })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.ok(Date.now() - started < 300 + 300)
})

test('the deadline covers redirects and body together', async (t) => {
  const slow = await httpFixture(t, (req, res) => {
    // Each hop takes 150 ms: three of them exceed a 400 ms budget although none does alone.
    setTimeout(() => {
      if (req.url === '/image.png') res.writeHead(200).end(png)
      else res.writeHead(302, { location: req.url === '/a' ? '/b' : '/image.png' }).end()
    }, 150)
  })
  const started = Date.now()
  const error = await rejection(t, fetchImage(`${slow.origin}/a`, options({ timeoutMs: 400, allowHosts: [`127.0.0.1:${slow.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.ok(Date.now() - started < 400 + 300)
})

test('an unknown name fails the download', async (t) => {
  const error = await rejection(t, fetchImage('http://nowhere.test/a.png', options()))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.equal(error.message, 'could not resolve nowhere.test')
})

test('a refused connection fails the download', async (t) => {
  // A port that was just free: nothing listens there any more.
  const closed = createTcpServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  const error = await rejection(t, fetchImage(`http://127.0.0.1:${port}/`, options({ allowHosts: [`127.0.0.1:${port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.equal(error.message, 'could not download the image from 127.0.0.1')
})

test("the caller's abort signal cancels the download", async (t) => {
  const silent = await listen(t, silentServer())
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 100)
  const started = Date.now()
  const error = await rejection(t, fetchImage(`${silent.origin}/`, options({ signal: controller.signal, allowHosts: [`127.0.0.1:${silent.port}`] })))
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.match(error.message, /cancelled/)
  t.ok(Date.now() - started < 1000)
})

test('policy refusals happen before any lookup', async (t) => {
  const lookup = resolver({})
  const error = await rejection(t, fetchImage('http://user:pw@example.test/a.png', options({ lookup })))
  t.equal(error.code, 'IMAGE_URL_REJECTED')
  t.same(lookup.asked, [])
})

test('the download still works after agents are closed', async (t) => {
  const images = await imageServer(t)
  const allowHosts = [`127.0.0.1:${images.port}`]
  const lookup = resolver({})
  await fetchImage(`${images.origin}/image.png`, options({ allowHosts, lookup }))
  await closeImageFetchAgents()
  const again = await fetchImage(`${images.origin}/image.png`, options({ allowHosts, lookup }))
  t.same(again.bytes, png)
})

test('without an injected resolver an allowed literal host still downloads', async (t) => {
  const images = await imageServer(t)
  const result = await fetchImage(`${images.origin}/image.png`, { timeoutMs: 2000, maxBytes: 1 << 20, allowHosts: [`127.0.0.1:${images.port}`] })
  t.same(result.bytes, png)
})

test('closing the agents ends a running download at once', async (t) => {
  const silent = await listen(t, silentServer())
  const started = Date.now()
  const download = rejection(t, fetchImage(`${silent.origin}/`, options({ timeoutMs: 10_000, allowHosts: [`127.0.0.1:${silent.port}`] })))
  await waitFor(() => silent.connections === 1)
  await closeImageFetchAgents()
  const error = await download
  t.equal(error.code, 'IMAGE_FETCH_FAILED')
  t.ok(Date.now() - started < 2000)
  await waitFor(() => silent.open.size === 0)
  t.equal(silent.open.size, 0)
})

test('connections are not kept open after a download', async (t) => {
  const images = await imageServer(t)
  await fetchImage(`${images.origin}/image.png`, options({ allowHosts: [`127.0.0.1:${images.port}`] }))
  await waitFor(() => images.open.size === 0)
  t.equal(images.open.size, 0)
})

async function waitFor (condition: () => boolean, ms = 1000): Promise<void> {
  const until = Date.now() + ms
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
}
