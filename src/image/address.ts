// Which IP addresses the proxy must never contact on a client's behalf (the SSRF address policy). Pure: no I/O.
import { isIP } from 'node:net'

interface Rule {
  network: Uint8Array
  bits: number
  /** why an address in this network is refused; absent when the verdict depends on an embedded IPv4 */
  reason?: string
  /** byte offset of an IPv4 address embedded in an IPv6 one (mapped, NAT64, 6to4), judged by the IPv4 rules */
  embeddedV4At?: number
  label?: string
}

// Exact cloud metadata endpoints, named apart so logs say what was aimed at (their networks are refused anyway).
const METADATA_ADDRESSES = new Set<string>([
  '169.254.169.254', // AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
  '169.254.170.2', // AWS ECS task credentials
  '169.254.0.23', // Tencent Cloud
  '100.100.100.200', // Alibaba Cloud
  '100.96.0.96', // Volcengine / BytePlus
  '192.0.0.192', // Oracle Cloud (legacy)
  'fd00:ec2::254' // AWS over IPv6
].map((address) => byteKey(parseAddress(address))))

// IANA special-purpose IPv4 registry, every block that is not globally reachable (plus deprecated ones).
const IPV4_RULES: Rule[] = rules([
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'deprecated 6to4 relay'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved']
])

// First match wins: the specific blocks come before the wider ones that contain them.
const IPV6_RULES: Rule[] = rules([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0/96', { embeddedV4At: 12, label: 'IPv4-mapped' }],
  ['::/96', 'deprecated IPv4-compatible'],
  ['::ffff:0:0:0/96', 'IPv4-translated'],
  ['64:ff9b::/96', { embeddedV4At: 12, label: 'NAT64' }],
  // Local-use NAT64 (RFC 8215) is not globally reachable, and where its IPv4 sits depends on the operator's prefix length.
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001::/32', 'Teredo'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'deprecated ORCHID'],
  ['2001:db8::/32', 'documentation'],
  ['2002::/16', { embeddedV4At: 2, label: '6to4' }],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing (SRv6)'],
  ['fc00::/7', 'unique local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'deprecated site-local'],
  ['ff00::/8', 'multicast'],
  // IANA hands out global unicast only from 2000::/3; everything else left is reserved.
  ['2000::/3', { label: 'global unicast' }],
  ['::/0', 'reserved']
])

/** Host text without URL brackets, zone id (`%eth0` or `%25eth0`) or trailing dot, lower-cased. */
export function bareAddress (host: string): string {
  let text = host.trim().toLowerCase()
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  if (text.endsWith('.') && isIP(text.slice(0, -1)) === 4) text = text.slice(0, -1)
  return text
}

/** True when host is an IPv4 or IPv6 literal (brackets and zone id allowed). */
export function isIpLiteral (host: string): boolean {
  return isIP(bareAddress(host)) !== 0
}

/**
 * Why the proxy must not contact this IP address, or undefined when it is public.
 * Anything that is not an IP literal is refused too (fail closed).
 */
export function forbiddenAddressReason (ip: string): string | undefined {
  const text = bareAddress(ip)
  const version = isIP(text)
  if (version === 0) return 'not an IP address'
  return judge(parseAddress(text))
}

function judge (bytes: Uint8Array): string | undefined {
  if (METADATA_ADDRESSES.has(byteKey(bytes))) return 'cloud metadata'
  const rule = (bytes.length === 4 ? IPV4_RULES : IPV6_RULES).find((candidate) => inNetwork(bytes, candidate))
  if (rule === undefined) return undefined
  if (rule.embeddedV4At === undefined) return rule.reason
  const inner = judge(bytes.subarray(rule.embeddedV4At, rule.embeddedV4At + 4))
  return inner === undefined ? undefined : `${rule.label ?? 'embedded'} ${inner}`
}

function byteKey (bytes: Uint8Array): string {
  return bytes.join('.')
}

function parseAddress (text: string): Uint8Array {
  return isIP(text) === 4 ? parseIPv4(text) : parseIPv6(text)
}

function inNetwork (bytes: Uint8Array, rule: Rule): boolean {
  let bits = rule.bits
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((bytes[i] ?? 0) & mask) !== ((rule.network[i] ?? 0) & mask)) return false
  }
  return true
}

function rules (entries: Array<[string, string | Omit<Rule, 'network' | 'bits'>]>): Rule[] {
  return entries.map(([cidr, verdict]) => {
    const [address = '', bits = ''] = cidr.split('/')
    const network = parseAddress(address)
    const rest = typeof verdict === 'string' ? { reason: verdict } : verdict
    return { network, bits: Number(bits), ...rest }
  })
}

/** Dotted-quad IPv4 (already validated by net.isIP) to 4 bytes. */
function parseIPv4 (text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number))
}

/** IPv6 text (already validated by net.isIP, no zone) to 16 bytes; handles `::` and a trailing dotted quad. */
function parseIPv6 (text: string): Uint8Array {
  let groups = text
  const lastColon = groups.lastIndexOf(':')
  const tail = groups.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number)
    groups = `${groups.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', rest] = groups.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = rest === undefined || rest === '' ? [] : rest.split(':')
  const zeros = new Array<string>(8 - left.length - right.length).fill('0')
  const words = rest === undefined ? left : [...left, ...zeros, ...right]
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => {
    const value = parseInt(word, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}
