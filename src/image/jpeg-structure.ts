// A JPEG's structure, walked marker by marker without decoding a pixel: what a file must hold for a
// decoder to read it to the end. It catches what uploads lose or mangle (a truncated file, a segment cut
// short, a scan naming a table or component that was never defined, a Huffman table no decoder accepts),
// at a cost of microseconds where a decode of even 1/8 of the picture takes milliseconds.

export interface JpegStructure {
  /** every marker code met, in order (SOFn, DHT, APPn, SOS...), EOI excluded */
  markers: number[]
  width: number
  height: number
  components: number
  /** bits per sample: 8 for nearly every JPEG */
  precision: number
  /** the APP0 segment's length and its first bytes, when there is one (JFIF headers) */
  app0?: { length: number, identifier: string }
}

interface Frame {
  progressive: boolean
  precision: number
  width: number
  height: number
  /** component id -> quantisation table id */
  components: Map<number, number>
  /** component id -> horizontal x vertical blocks per MCU */
  blocks: Map<number, number>
}

const SOI = 0xd8
const EOI = 0xd9
const SOS = 0xda
const DHT = 0xc4
const DQT = 0xdb
const DRI = 0xdd
const APP0 = 0xe0
/** Huffman-coded frames: baseline, extended, progressive, lossless (and their differential kinds) */
const HUFFMAN_FRAMES = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7])
/** arithmetic-coded frames: walked, but their tables (DAC) are not checked */
const ARITHMETIC_FRAMES = new Set([0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf])

/** The file's structure, or undefined when it is not a JPEG a decoder can read to its end (EOI at the very end). */
export function readJpegStructure (bytes: Buffer): JpegStructure | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return undefined
  const markers: number[] = []
  const dcTables = new Set<number>()
  const acTables = new Set<number>()
  const quantTables = new Set<number>()
  const scanned = new Set<number>()
  let frame: Frame | undefined
  let huffman = true
  let app0: JpegStructure['app0']
  let i = 2
  for (;;) {
    if (bytes[i] !== 0xff) return undefined
    while (bytes[i + 1] === 0xff) i++ // fill bytes before a marker
    if (i + 1 >= bytes.length) return undefined
    const marker = bytes[i + 1] as number
    if (marker === EOI) {
      // every component of the frame coded by some scan, and nothing after the end marker
      if (frame === undefined || ![...frame.components.keys()].every((id) => scanned.has(id))) return undefined
      if (i + 2 !== bytes.length) return undefined
      return { markers, width: frame.width, height: frame.height, components: frame.components.size, precision: frame.precision, ...(app0 ? { app0 } : {}) }
    }
    if (marker === SOI || marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7)) return undefined
    if (i + 4 > bytes.length) return undefined
    const length = bytes.readUInt16BE(i + 2)
    const start = i + 4
    const end = i + 2 + length
    if (length < 2 || end > bytes.length) return undefined
    markers.push(marker)
    const segment = bytes.subarray(start, end)
    if (HUFFMAN_FRAMES.has(marker) || ARITHMETIC_FRAMES.has(marker)) {
      if (frame !== undefined) return undefined
      frame = readFrame(segment, marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce)
      if (frame === undefined) return undefined
      huffman = HUFFMAN_FRAMES.has(marker)
    } else if (marker === DHT) {
      if (!readHuffmanTables(segment, dcTables, acTables)) return undefined
    } else if (marker === DQT) {
      if (!readQuantTables(segment, quantTables)) return undefined
    } else if (marker === DRI) {
      if (length !== 4) return undefined
    } else if (marker === APP0) {
      app0 = { length, identifier: bytes.toString('latin1', start, Math.min(end, start + 5)) }
    } else if (marker === SOS) {
      if (frame === undefined) return undefined
      const ids = readScan(segment, frame, huffman ? { dc: dcTables, ac: acTables } : undefined)
      // a component's quantisation table must be defined by its first scan (it may follow the frame header)
      if (ids === undefined || !ids.every((id) => quantTables.has(frame?.components.get(id) ?? -1))) return undefined
      for (const id of ids) scanned.add(id)
      i = endOfEntropyData(bytes, end)
      if (i === end) return undefined // a scan with no data
      continue
    }
    i = end
  }
}

function readFrame (segment: Buffer, progressive: boolean): Frame | undefined {
  if (segment.length < 6) return undefined
  const precision = segment[0] as number
  const height = segment.readUInt16BE(1)
  const width = segment.readUInt16BE(3)
  const count = segment[5] as number
  // height 0 (set later by a DNL marker) is legal but no decoder a photo goes through needs it
  if (![8, 12, 16].includes(precision) || width === 0 || height === 0) return undefined
  if (count < 1 || count > 4 || segment.length !== 6 + 3 * count) return undefined
  const components = new Map<number, number>()
  const blocks = new Map<number, number>()
  const factors: Array<[number, number]> = []
  for (let c = 0; c < count; c++) {
    const at = 6 + 3 * c
    const id = segment[at] as number
    const sampling = segment[at + 1] as number
    const table = segment[at + 2] as number
    const h = sampling >> 4
    const v = sampling & 0x0f
    if (components.has(id) || h < 1 || h > 4 || v < 1 || v > 4 || table > 3) return undefined
    components.set(id, table)
    blocks.set(id, h * v)
    factors.push([h, v])
  }
  // libjpeg decodes only sampling factors that divide the largest ones ("fractional sampling" otherwise)
  const maxH = Math.max(...factors.map(([h]) => h))
  const maxV = Math.max(...factors.map(([, v]) => v))
  if (!factors.every(([h, v]) => maxH % h === 0 && maxV % v === 0)) return undefined
  return { progressive, precision, width, height, components, blocks }
}

/** DHT: each table's 16 code counts must describe a canonical code (what libjpeg checks before decoding). */
function readHuffmanTables (segment: Buffer, dc: Set<number>, ac: Set<number>): boolean {
  let at = 0
  while (at < segment.length) {
    if (at + 17 > segment.length) return false
    const kind = (segment[at] as number) >> 4
    const id = (segment[at] as number) & 0x0f
    if (kind > 1 || id > 3) return false
    let symbols = 0
    let code = 0
    for (let bits = 1; bits <= 16; bits++) {
      const count = segment[at + bits] as number
      symbols += count
      code += count
      // codes of this length run out at 2^bits, and the all-ones code is reserved
      if (code >= 2 ** bits) return false
      code *= 2
    }
    if (symbols > 256 || at + 17 + symbols > segment.length) return false
    if (kind === 0) {
      for (let s = 0; s < symbols; s++) if ((segment[at + 17 + s] as number) > 15) return false
    }
    ;(kind === 0 ? dc : ac).add(id)
    at += 17 + symbols
  }
  return true
}

function readQuantTables (segment: Buffer, tables: Set<number>): boolean {
  let at = 0
  while (at < segment.length) {
    const precision = (segment[at] as number) >> 4
    const id = (segment[at] as number) & 0x0f
    const size = precision === 0 ? 64 : precision === 1 ? 128 : 0
    if (size === 0 || id > 3 || at + 1 + size > segment.length) return false
    tables.add(id)
    at += 1 + size
  }
  return true
}

/** SOS: the components it codes (each in the frame) with their tables defined; undefined when malformed. */
function readScan (segment: Buffer, frame: Frame, tables: { dc: Set<number>, ac: Set<number> } | undefined): number[] | undefined {
  const count = segment[0] ?? 0
  if (count < 1 || count > 4 || segment.length !== 4 + 2 * count) return undefined
  const spectralStart = segment[1 + 2 * count] as number
  const spectralEnd = segment[2 + 2 * count] as number
  const approximationHigh = (segment[3 + 2 * count] as number) >> 4
  const approximationLow = (segment[3 + 2 * count] as number) & 0x0f
  const ids: number[] = []
  for (let c = 0; c < count; c++) {
    const id = segment[1 + 2 * c] as number
    const dc = (segment[2 + 2 * c] as number) >> 4
    const ac = (segment[2 + 2 * c] as number) & 0x0f
    if (!frame.components.has(id)) return undefined
    if (tables !== undefined) {
      // a progressive scan uses only what it codes: DC tables in a first DC scan, AC tables in AC scans
      const needsDc = !frame.progressive || (spectralStart === 0 && approximationHigh === 0)
      const needsAc = !frame.progressive || spectralStart > 0
      if ((needsDc && !tables.dc.has(dc)) || (needsAc && !tables.ac.has(ac))) return undefined
    }
    ids.push(id)
  }
  // an interleaved scan codes at most 10 blocks per MCU (libjpeg's limit)
  if (count > 1 && ids.reduce((total, id) => total + (frame.blocks.get(id) ?? 0), 0) > 10) return undefined
  if (frame.progressive) {
    // the parameters libjpeg's progressive decoder accepts: a DC band alone, an AC band of one component,
    // each refinement one bit below the last
    if (spectralStart === 0 ? spectralEnd !== 0 : count !== 1 || spectralEnd < spectralStart || spectralEnd > 63) return undefined
    if ((approximationHigh !== 0 && approximationLow !== approximationHigh - 1) || approximationLow > 13) return undefined
  }
  return ids
}

/** Where the entropy-coded data after a scan header ends: the next marker that is not stuffing or RSTn. */
function endOfEntropyData (bytes: Buffer, from: number): number {
  let at = from
  for (;;) {
    const next = bytes.indexOf(0xff, at)
    if (next < 0 || next + 1 >= bytes.length) return bytes.length
    const code = bytes[next + 1] as number
    if (code === 0x00 || (code >= 0xd0 && code <= 0xd7)) {
      at = next + 2
    } else if (code === 0xff) {
      at = next + 1
    } else {
      return next
    }
  }
}
