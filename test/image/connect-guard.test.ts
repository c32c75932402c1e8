import type { LookupAddress, LookupOptions } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { test } from 'tap'
import { ForbiddenAddressError, guardLookup, guardedConnector } from '../../src/image/connect-guard.js'

// The guarded lookup is driven with a fake resolver: nothing here opens a socket.

function resolverOf (addresses: string[]): LookupFunction & { calls: Array<{ hostname: string, options: LookupOptions }> } {
  const calls: Array<{ hostname: string, options: LookupOptions }> = []
  const resolve = ((hostname, options, callback) => {
    calls.push({ hostname, options })
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    if (options.all === true) callback(null, all)
    else callback(null, all[0]?.address ?? '', all[0]?.family)
  }) as LookupFunction
  return Object.assign(resolve, { calls })
}

async function lookupWith (resolver: LookupFunction, hostname: string, options: LookupOptions): Promise<{ error: Error | null, address: unknown, family?: number }> {
  return await new Promise((resolve) => {
    guardLookup(resolver)(hostname, options, (error, address, family) => { resolve({ error, address, family }) })
  })
}

test('with all: true every public address is returned', async (t) => {
  const answer = await lookupWith(resolverOf(['8.8.8.8', '2606:4700::1111']), 'images.test', { all: true })
  t.equal(answer.error, null)
  t.same(answer.address, [{ address: '8.8.8.8', family: 4 }, { address: '2606:4700::1111', family: 6 }])
})

test('without all the first address is returned, after checking them all', async (t) => {
  const resolve = resolverOf(['8.8.8.8', '1.1.1.1'])
  const answer = await lookupWith(resolve, 'images.test', { family: 4 })
  t.equal(answer.error, null)
  t.equal(answer.address, '8.8.8.8')
  t.equal(answer.family, 4)
  t.equal(resolve.calls[0]?.options.all, true, 'the resolver is always asked for every address')
  t.equal(resolve.calls[0]?.options.family, 4, 'the caller options are kept')
})

test('one forbidden address among public ones refuses the whole name', async (t) => {
  const answer = await lookupWith(resolverOf(['8.8.8.8', '10.0.0.1']), 'mixed.test', { all: true })
  t.type(answer.error, ForbiddenAddressError)
  t.equal((answer.error as ForbiddenAddressError).code, 'ERR_IMAGE_FORBIDDEN_ADDRESS')
  t.equal((answer.error as ForbiddenAddressError).reason, 'private')
  t.equal(answer.error?.message, 'mixed.test resolves to a non-public address', 'names the host, not the address')
})

test('mapped, metadata and v6 loopback answers are refused', async (t) => {
  for (const address of ['::ffff:127.0.0.1', '169.254.169.254', '::1', 'fd00:ec2::254', '0.0.0.0']) {
    const answer = await lookupWith(resolverOf([address]), 'evil.test', { all: true })
    t.type(answer.error, ForbiddenAddressError, address)
  }
})

test('a resolver that answers a single string is checked too', async (t) => {
  const single = ((_hostname, _options, callback) => { callback(null, '127.0.0.1', 4) }) as LookupFunction
  t.type((await lookupWith(single, 'evil.test', {})).error, ForbiddenAddressError)
  const publicOne = ((_hostname, _options, callback) => { callback(null, '8.8.8.8', 4) }) as LookupFunction
  t.equal((await lookupWith(publicOne, 'ok.test', {})).address, '8.8.8.8')
})

test('an empty answer is ENOTFOUND', async (t) => {
  const answer = await lookupWith(resolverOf([]), 'nothing.test', { all: true })
  t.equal((answer.error as NodeJS.ErrnoException).code, 'ENOTFOUND')
})

test('resolver errors pass through', async (t) => {
  const failing = ((_hostname, _options, callback) => {
    callback(Object.assign(new Error('boom'), { code: 'EAI_AGAIN' }), '')
  }) as LookupFunction
  t.equal(((await lookupWith(failing, 'x.test', {})).error as NodeJS.ErrnoException).code, 'EAI_AGAIN')
})

test('the connector refuses a forbidden literal without resolving or connecting', async (t) => {
  const resolve = resolverOf(['8.8.8.8'])
  const connect = guardedConnector([], resolve)
  const error = await new Promise<Error | null>((resolve) => {
    connect({ hostname: '169.254.169.254', protocol: 'http:', port: '' }, (...args) => { resolve(args[0]) })
  })
  t.type(error, ForbiddenAddressError)
  t.equal(resolve.calls.length, 0)
})

test('the connector refuses an IPv6 literal as undici passes it (no brackets)', async (t) => {
  const connect = guardedConnector(['[::1]:8080'], resolverOf([]))
  const error = await new Promise<Error | null>((resolve) => {
    connect({ hostname: '::1', protocol: 'https:', port: '8443' }, (...args) => { resolve(args[0]) })
  })
  t.type(error, ForbiddenAddressError)
})
