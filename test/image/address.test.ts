import { test, type Test } from 'tap'
import { bareAddress, forbiddenAddressReason, isIpLiteral } from '../../src/image/address.js'

// Pure checks of the address policy: nothing here opens a socket.

function refusedAll (t: Test, addresses: string[], expected?: RegExp): void {
  for (const address of addresses) {
    const reason = forbiddenAddressReason(address)
    t.type(reason, 'string', `${address} is refused`)
    if (expected !== undefined) t.match(reason, expected, `${address}: ${String(reason)}`)
  }
}

function allowedAll (t: Test, addresses: string[]): void {
  for (const address of addresses) t.equal(forbiddenAddressReason(address), undefined, `${address} is public`)
}

test('public IPv4 and IPv6 addresses are allowed', async (t) => {
  allowedAll(t, ['8.8.8.8', '1.1.1.1', '93.184.216.34', '223.255.255.255', '2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450::1'])
})

test('the edges just outside each refused IPv4 block are public', async (t) => {
  allowedAll(t, ['1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0',
    '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.0.3.0', '192.167.255.255',
    '192.169.0.0', '198.17.255.255', '198.20.0.0', '198.51.99.255', '198.51.101.0', '203.0.112.255', '203.0.114.0'])
})

test('loopback and "this network" IPv4 are refused', async (t) => {
  refusedAll(t, ['127.0.0.1', '127.1.2.3', '127.255.255.255'], /loopback/)
  refusedAll(t, ['0.0.0.0', '0.1.2.3', '0.255.255.255'], /unspecified/)
})

test('private, CGNAT and link-local IPv4 are refused', async (t) => {
  refusedAll(t, ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '192.168.255.255'], /private/)
  refusedAll(t, ['100.64.0.1', '100.127.255.255'], /carrier-grade NAT/)
  refusedAll(t, ['169.254.0.1', '169.254.255.255'], /link-local/)
})

test('cloud metadata endpoints are refused and named', async (t) => {
  refusedAll(t, ['169.254.169.254', '169.254.170.2', '100.100.100.200', '100.96.0.96', '192.0.0.192', 'fd00:ec2::254',
    'FD00:EC2:0:0:0:0:0:254'], /cloud metadata/)
})

test('documentation, benchmarking, protocol, multicast, reserved and broadcast IPv4 are refused', async (t) => {
  refusedAll(t, ['192.0.2.1', '198.51.100.7', '203.0.113.255'], /documentation/)
  refusedAll(t, ['198.18.0.1', '198.19.255.255'], /benchmarking/)
  refusedAll(t, ['192.0.0.1', '192.0.0.255'], /IETF/)
  refusedAll(t, ['192.88.99.1'], /6to4 relay/)
  refusedAll(t, ['224.0.0.1', '239.255.255.250'], /multicast/)
  refusedAll(t, ['240.0.0.1', '254.255.255.255'], /reserved/)
  refusedAll(t, ['255.255.255.255'], /broadcast/)
})

test('IPv6 unspecified, loopback, link-local, unique-local, site-local and multicast are refused', async (t) => {
  refusedAll(t, ['::', '0:0:0:0:0:0:0:0'], /unspecified/)
  refusedAll(t, ['::1', '0:0:0:0:0:0:0:1', '[::1]'], /loopback/)
  refusedAll(t, ['fe80::1', 'FE80::1', 'febf:ffff::1', 'fe80::1%eth0', '[fe80::1%25eth0]'], /link-local/)
  refusedAll(t, ['fc00::1', 'fd12:3456::1', 'fdff:ffff::1'], /unique local/)
  refusedAll(t, ['fec0::1'], /site-local/)
  refusedAll(t, ['ff02::1', 'ff05::1:3', 'FF0E::1'], /multicast/)
})

test('IPv6 documentation, discard, Teredo, benchmarking, ORCHID and SRv6 blocks are refused', async (t) => {
  refusedAll(t, ['2001:db8::1', '2001:DB8:ffff::1', '3fff::1'], /documentation/)
  refusedAll(t, ['100::1', '100::ffff:ffff:ffff:ffff'], /discard/)
  refusedAll(t, ['2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2'], /Teredo/)
  refusedAll(t, ['2001:2::1'], /benchmarking/)
  refusedAll(t, ['2001:10::1'], /ORCHID/)
  refusedAll(t, ['5f00::1'], /SRv6/)
})

test('IPv6 outside global unicast (2000::/3) is refused as reserved', async (t) => {
  refusedAll(t, ['4000::1', '8000::1', 'e000::1', '1::1', 'fbff::1'], /reserved/)
})

test('IPv4-mapped IPv6 is judged by its embedded IPv4', async (t) => {
  refusedAll(t, ['::ffff:127.0.0.1', '::FFFF:7F00:1', '0:0:0:0:0:ffff:7f00:1', '[::ffff:127.0.0.1]'], /IPv4-mapped loopback/)
  refusedAll(t, ['0:0:0:0:0:ffff:169.254.169.254', '::ffff:a9fe:a9fe'], /IPv4-mapped cloud metadata/)
  refusedAll(t, ['::ffff:10.0.0.1', '::ffff:0.0.0.0', '::ffff:ffff:ffff'], /IPv4-mapped/)
  allowedAll(t, ['::ffff:8.8.8.8', '::ffff:808:808'])
})

test('NAT64 (64:ff9b::/96) is judged by its embedded IPv4', async (t) => {
  refusedAll(t, ['64:ff9b::a00:1', '64:ff9b::10.0.0.1', '64:ff9b::7f00:1'], /NAT64/)
  refusedAll(t, ['64:ff9b::a9fe:a9fe'], /NAT64 cloud metadata/)
  allowedAll(t, ['64:ff9b::808:808', '64:ff9b::8.8.8.8'])
})

test('local-use NAT64 (64:ff9b:1::/48) is refused whatever it embeds', async (t) => {
  refusedAll(t, ['64:ff9b:1::a00:1', '64:ff9b:1::808:808', '64:ff9b:1:ffff::1'], /local-use NAT64/)
})

test('6to4 (2002::/16) is judged by its embedded IPv4', async (t) => {
  refusedAll(t, ['2002:a00:1::', '2002:7f00:1::1', '2002:a9fe:a9fe::'], /6to4/)
  allowedAll(t, ['2002:808:808::1'])
})

test('IPv4-compatible and IPv4-translated IPv6 are refused', async (t) => {
  refusedAll(t, ['::127.0.0.1', '::8.8.8.8', '::a00:1'], /IPv4-compatible/)
  refusedAll(t, ['::ffff:0:7f00:1', '::ffff:0:808:808'], /IPv4-translated/)
})

test('a trailing dot on an IPv4 literal does not hide it', async (t) => {
  refusedAll(t, ['127.0.0.1.', '10.0.0.1.'])
})

test('text that is not a canonical IP literal is refused rather than guessed', async (t) => {
  refusedAll(t, ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0', 'localhost', '', ' ', '1.2.3.4.5', '::g', '[::1'],
    /not an IP address/)
})

test('isIpLiteral recognises bracketed, zoned and plain literals only', async (t) => {
  for (const host of ['127.0.0.1', '::1', '[::1]', '[fe80::1%25eth0]', 'fe80::1%eth0', '[::ffff:127.0.0.1]']) {
    t.ok(isIpLiteral(host), host)
  }
  for (const host of ['example.com', 'localhost', '2130706433', '127.1', '[example.com]', '']) {
    t.notOk(isIpLiteral(host), host)
  }
})

test('bareAddress strips brackets, zone ids and case', async (t) => {
  t.equal(bareAddress('[FE80::1%25eth0]'), 'fe80::1')
  t.equal(bareAddress('127.0.0.1.'), '127.0.0.1')
  t.equal(bareAddress('example.com.'), 'example.com.')
})
