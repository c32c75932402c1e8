import { test, type Test } from 'tap'
import { checkImageUrl, effectivePort, isHostAllowed, MAX_IMAGE_URL_LENGTH } from '../../src/image/url-policy.js'

// The URL text alone: no lookup, no socket.

const open = { allowHosts: [] }

function rejects (t: Test, urls: string[], message?: RegExp, allowHosts: string[] = []): void {
  for (const url of urls) {
    t.throws(() => checkImageUrl(url, { allowHosts }), { code: 'IMAGE_URL_REJECTED', statusCode: 422, message: message ?? /image_url/ }, url)
  }
}

test('a public http or https URL passes and comes back parsed', async (t) => {
  t.equal(checkImageUrl('https://images.example.com/a/b.jpg?size=big', open).href, 'https://images.example.com/a/b.jpg?size=big')
  t.equal(checkImageUrl('http://8.8.8.8:8080/x.png', open).href, 'http://8.8.8.8:8080/x.png')
  t.equal(checkImageUrl('http://[2606:4700::1111]/x.png', open).hostname, '[2606:4700::1111]')
})

test('the fragment is dropped', async (t) => {
  t.equal(checkImageUrl('https://example.com/a.png#section', open).href, 'https://example.com/a.png')
})

test('schemes other than http and https are refused', async (t) => {
  rejects(t, ['ftp://example.com/a.png', 'file:///etc/passwd', 'gopher://example.com/', 'data:image/png;base64,AAAA',
    'javascript:alert(1)', 'ws://example.com/', 'blob:https://example.com/x'], /http or https/)
})

test('URLs with credentials are refused', async (t) => {
  rejects(t, ['http://user:secret@example.com/a.png', 'https://user@example.com/a.png', 'http://:pw@example.com/'], /credentials/)
})

test('unparseable or relative URLs are refused', async (t) => {
  rejects(t, ['/relative/a.png', 'example.com/a.png', 'http://', 'http://[::1/', 'http://1.2.3.4.5/', 'http://exa mple.com/',
    'http://[fe80::1%25eth0]/'], /not a valid absolute URL/)
  rejects(t, ['', '   '], /non-empty/)
  t.throws(() => checkImageUrl(42 as unknown as string, open), { code: 'IMAGE_URL_REJECTED' })
})

test('URLs longer than the limit are refused, at the limit accepted', async (t) => {
  const base = 'https://example.com/'
  rejects(t, [base + 'a'.repeat(MAX_IMAGE_URL_LENGTH - base.length + 1)], /longer than 2048/)
  t.ok(checkImageUrl(base + 'a'.repeat(MAX_IMAGE_URL_LENGTH - base.length), open))
})

test('every spelling of IPv4 loopback is refused', async (t) => {
  rejects(t, ['http://127.0.0.1/', 'http://127.0.0.1./', 'http://2130706433/', 'http://017700000001/', 'http://0177.0.0.1/',
    'http://0x7f.1/', 'http://0x7F000001/', 'http://0x7f.0x0.0x0.0x1/', 'http://127.1/', 'http://127.0.1/',
    'http://%31%32%37.0.0.1/', 'http://１２７.０.０.１/', 'HTTP://127.0.0.1:8080/x', 'http://127.255.255.254/'], /loopback/)
})

test('0.0.0.0 in every spelling is refused', async (t) => {
  rejects(t, ['http://0.0.0.0/', 'http://0/', 'http://0x0/', 'http://00/', 'http://0.0.0.0./'], /unspecified/)
})

test('bracketed IPv6 loopback, mapped, NAT64, 6to4, link-local and unique-local literals are refused', async (t) => {
  rejects(t, ['http://[::1]/', 'http://[0:0:0:0:0:0:0:1]:8080/', 'http://[::]/'], /non-public address/)
  rejects(t, ['http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://[0:0:0:0:0:ffff:169.254.169.254]/',
    'http://[::FFFF:A9FE:A9FE]/'], /IPv4-mapped/)
  rejects(t, ['http://[64:ff9b::a00:1]/', 'http://[64:ff9b::10.0.0.1]/'], /NAT64/)
  rejects(t, ['http://[2002:a00:1::]/', 'http://[2002:7f00:1::]/'], /6to4/)
  rejects(t, ['http://[fe80::1]/', 'http://[fd00:ec2::254]/', 'http://[fc00::1]/', 'http://[ff02::1]/'], /non-public address/)
})

test('private, link-local, CGNAT and metadata IPv4 literals are refused', async (t) => {
  rejects(t, ['http://10.0.0.1/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://0xa000001/', 'http://167772161/'], /private/)
  rejects(t, ['http://169.254.169.254/latest/meta-data/', 'http://0xa9fea9fe/', 'http://2852039166/',
    'http://100.100.100.200/', 'http://100.96.0.96/latest/'], /cloud metadata/)
  rejects(t, ['http://100.64.0.1/'], /carrier-grade NAT/)
  rejects(t, ['http://224.0.0.1/', 'http://255.255.255.255/', 'http://240.0.0.1/', 'http://198.18.0.1/'], /non-public/)
})

test('localhost and other non-public names are refused, trailing dots included', async (t) => {
  rejects(t, ['http://localhost/', 'http://LOCALHOST/', 'http://localhost./', 'http://localhost../', 'http://foo.localhost/',
    'http://a.b.localhost./', 'http://..localhost/'], /not a public name/)
  rejects(t, ['http://metadata/', 'http://metadata.google.internal/', 'http://printer.local/', 'http://nas.home.arpa/',
    'http://redis:6379/'], /not a public name/)
  rejects(t, ['http://./', 'http://../'], /no host/)
})

test('names that merely contain "localhost" are ordinary names', async (t) => {
  t.ok(checkImageUrl('http://localhost.example.com/a.png', open))
  t.ok(checkImageUrl('http://mylocalhost.com/a.png', open))
  t.ok(checkImageUrl('http://example.com./a.png', open))
})

test('messages never echo the path or query', async (t) => {
  const error = t.throws(() => checkImageUrl('http://127.0.0.1/private/path?token=s3cret', open)) as Error
  t.notMatch(error.message, /s3cret|private\/path/)
  const credentials = t.throws(() => checkImageUrl('http://user:s3cret@example.com/', open)) as Error
  t.notMatch(credentials.message, /s3cret|user/)
})

test('an allowed bare host passes on any port', async (t) => {
  const allowHosts = ['127.0.0.1', 'localhost', 'storage.internal']
  t.ok(checkImageUrl('http://127.0.0.1:9000/a.png', { allowHosts }))
  t.ok(checkImageUrl('http://127.0.0.1/a.png', { allowHosts }))
  t.ok(checkImageUrl('https://localhost:8443/a.png', { allowHosts }))
  t.ok(checkImageUrl('http://storage.internal/a.png', { allowHosts }))
  t.ok(checkImageUrl('http://localhost./a.png', { allowHosts }), 'trailing dot still matches')
})

test('an allowed host:port passes only on that port', async (t) => {
  const allowHosts = ['127.0.0.1:9000', 'minio:9000', 'cdn.internal:443']
  t.ok(checkImageUrl('http://127.0.0.1:9000/a.png', { allowHosts }))
  t.ok(checkImageUrl('http://minio:9000/a.png', { allowHosts }))
  t.ok(checkImageUrl('https://cdn.internal/a.png', { allowHosts }), 'the scheme default port counts')
  rejects(t, ['http://127.0.0.1:9001/a.png', 'http://127.0.0.1/a.png', 'http://minio/a.png'], /image_url/, allowHosts)
  rejects(t, ['http://cdn.internal/a.png'], /not a public name/, allowHosts)
})

test('allow entries compare case-insensitively and in URL-normal form', async (t) => {
  t.ok(checkImageUrl('http://127.0.0.1:9000/', { allowHosts: ['  0x7F.1:9000 '] }))
  t.ok(checkImageUrl('http://Storage.Example.:80/', { allowHosts: ['STORAGE.example.com', 'storage.example'] }))
})

test('allow entries for IPv6 take brackets with a port, or a bare address', async (t) => {
  t.ok(checkImageUrl('http://[::1]:9000/', { allowHosts: ['[::1]:9000'] }))
  t.ok(checkImageUrl('http://[::1]:9000/', { allowHosts: ['::1'] }))
  t.ok(checkImageUrl('http://[::1]:9000/', { allowHosts: ['[::1]'] }))
  rejects(t, ['http://[::1]:9001/'], /non-public/, ['[::1]:9000'])
})

test('malformed allow entries match nothing', async (t) => {
  rejects(t, ['http://127.0.0.1/'], /loopback/, ['', 'http://127.0.0.1/', '[::1', 'a b'])
})

test('allowing one host does not allow another that resolves alike', async (t) => {
  rejects(t, ['http://127.0.0.2/'], /loopback/, ['127.0.0.1'])
  rejects(t, ['http://localhost/'], /not a public name/, ['127.0.0.1'])
})

test('isHostAllowed takes undici-style hosts (IPv6 without brackets)', async (t) => {
  t.ok(isHostAllowed('::1', 8080, ['[::1]:8080']))
  t.notOk(isHostAllowed('::1', 8081, ['[::1]:8080']))
  t.notOk(isHostAllowed('example.com', 80, []))
})

test('effectivePort falls back to the scheme default', async (t) => {
  t.equal(effectivePort(new URL('http://a.com/')), 80)
  t.equal(effectivePort(new URL('https://a.com/')), 443)
  t.equal(effectivePort(new URL('https://a.com:8443/')), 8443)
})
