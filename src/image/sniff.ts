// The image format and its header dimensions, from the bytes alone (magic numbers, never the declared type)
// and without decoding. Every read is bounds-checked and every loop advances, so no input can throw or hang.

export type ImageFormat = 'jpeg' | 'png' | 'webp'

export type SniffResult =
  | { kind: 'supported', format: ImageFormat, width: number | undefined, height: number | undefined }
  | { kind: 'unsupported', format: string }
  | { kind: 'unknown' }

interface Size { width: number | undefined, height: number | undefined }

const UNKNOWN_SIZE: Size = { width: undefined, height: undefined }

export function sniffImage (bytes: Buffer): SniffResult {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return supported('jpeg', jpegSize(bytes))
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return supported('png', pngSize(bytes))
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return supported('webp', webpSize(bytes))
  const other = otherFormat(bytes)
  return other === undefined ? { kind: 'unknown' } : { kind: 'unsupported', format: other }
}

function supported (format: ImageFormat, size: Size): SniffResult {
  return { kind: 'supported', format, width: size.width, height: size.height }
}

function startsWith (bytes: Buffer, signature: number[]): boolean {
  return bytes.length >= signature.length && signature.every((byte, i) => bytes[i] === byte)
}

/** `length` bytes at `offset` as latin1 text, or '' when the buffer is too short. */
function ascii (bytes: Buffer, offset: number, length: number): string {
  return bytes.length >= offset + length ? bytes.toString('latin1', offset, offset + length) : ''
}

/** A positive dimension, or undefined for 0 (unknown or invalid). */
function dimension (value: number): number | undefined {
  return value > 0 ? value : undefined
}

// SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but do not.
function isStartOfFrame (marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

function jpegSize (bytes: Buffer): Size {
  let i = 2
  while (i < bytes.length) {
    // Junk between segments is skipped up to the next 0xFF, as libjpeg does; runs of 0xFF are fill bytes.
    if (bytes[i] !== 0xff) { i++; continue }
    while (i < bytes.length && bytes[i] === 0xff) i++
    if (i >= bytes.length) break
    const marker = bytes[i] as number
    i++
    // Standalone markers (no length): TEM, RSTn, SOI; a stuffed 0x00 outside a scan is junk.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue
    // The frame header always precedes the first scan, so past SOS or EOI there is no size to find.
    if (marker === 0xda || marker === 0xd9) break
    if (i + 2 > bytes.length) break
    const length = bytes.readUInt16BE(i)
    if (length < 2) break
    if (isStartOfFrame(marker)) {
      // length(2) precision(1) height(2) width(2); height 0 means it is defined later (DNL)
      if (i + 7 > bytes.length) break
      return { width: dimension(bytes.readUInt16BE(i + 5)), height: dimension(bytes.readUInt16BE(i + 3)) }
    }
    i += length
  }
  return UNKNOWN_SIZE
}

function pngSize (bytes: Buffer): Size {
  // IHDR must be the first chunk: length(4) "IHDR" width(4) height(4)
  if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return UNKNOWN_SIZE
  return { width: dimension(bytes.readUInt32BE(16)), height: dimension(bytes.readUInt32BE(20)) }
}

function webpSize (bytes: Buffer): Size {
  const chunk = ascii(bytes, 12, 4)
  const data = 20
  if (chunk === 'VP8 ' && bytes.length >= data + 10) {
    // frame tag(3), start code 9d 01 2a, then 14-bit width and height (2 scaling bits above each)
    if (bytes[data + 3] !== 0x9d || bytes[data + 4] !== 0x01 || bytes[data + 5] !== 0x2a) return UNKNOWN_SIZE
    return {
      width: dimension(bytes.readUInt16LE(data + 6) & 0x3fff),
      height: dimension(bytes.readUInt16LE(data + 8) & 0x3fff)
    }
  }
  if (chunk === 'VP8L' && bytes.length >= data + 5) {
    // signature 0x2f, then width-1 and height-1 in 14 bits each
    if (bytes[data] !== 0x2f) return UNKNOWN_SIZE
    const bits = bytes.readUInt32LE(data + 1)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (chunk === 'VP8X' && bytes.length >= data + 10) {
    // flags(1) reserved(3), then canvas width-1 and height-1 in 24 bits each
    return { width: bytes.readUIntLE(data + 4, 3) + 1, height: bytes.readUIntLE(data + 7, 3) + 1 }
  }
  return UNKNOWN_SIZE
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs'])
const AVIF_BRANDS = new Set(['avif', 'avis'])
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'miaf'])
const MAX_BRANDS = 64

/** The name of a recognised format we do not accept, for the 415 message. */
function otherFormat (bytes: Buffer): string | undefined {
  if (ascii(bytes, 0, 4) === 'GIF8') return 'gif'
  if (ascii(bytes, 4, 4) === 'ftyp') return isoMediaFormat(bytes)
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') return 'tiff'
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 14 && bytes.readUInt32LE(6) === 0) return 'bmp'
  if (ascii(bytes, 0, 5) === '%PDF-') return 'pdf'
  if (ascii(bytes, 0, 4) === '8BPS') return 'psd'
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 4) === 'JXL ') return 'jxl'
  if (ascii(bytes, 4, 4) === 'jP  ' || startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return 'jpeg2000'
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 6 && bytes.readUInt16LE(4) > 0) return 'ico'
  if (looksLikeSvg(bytes)) return 'svg'
  return undefined
}

/** HEIC, AVIF and other HEIF images are ISO media files told apart by their ftyp brands. */
function isoMediaFormat (bytes: Buffer): string {
  const boxEnd = Math.min(bytes.length, bytes.readUInt32BE(0), 16 + 4 * MAX_BRANDS)
  const brands = [ascii(bytes, 8, 4)]
  for (let i = 16; i + 4 <= boxEnd; i += 4) brands.push(ascii(bytes, i, 4))
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif'
  if (brands.some((brand) => HEIC_BRANDS.has(brand))) return 'heic'
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif'
  return 'mp4'
}

// An XML prolog alone is not enough: storage services answer errors as XML ("<?xml ...><Error>"), which
// is a failed download, not an SVG. So after a prolog, doctype or comment, an <svg tag must follow soon.
const SVG_HEAD_BYTES = 4096

function looksLikeSvg (bytes: Buffer): boolean {
  let start = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0
  while (start < bytes.length && start < SVG_HEAD_BYTES && isXmlSpace(bytes[start] as number)) start++
  const head = bytes.toString('latin1', start, Math.min(bytes.length, start + SVG_HEAD_BYTES)).toLowerCase()
  if (head.startsWith('<svg')) return true
  return (head.startsWith('<?xml') || head.startsWith('<!')) && head.includes('<svg')
}

function isXmlSpace (byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
}

/** The media type of image bytes by their signature (the upstream's result), octet-stream when unknown. */
export function mimeTypeOf (bytes: Buffer): string {
  const sniffed = sniffImage(bytes)
  return sniffed.kind === 'supported' ? `image/${sniffed.format}` : 'application/octet-stream'
}

/** The MIME type of base64 image data, read off its first 24 bytes: the whole image is never decoded for it. */
export function mimeTypeOfBase64 (base64: string): string {
  return mimeTypeOf(Buffer.from(base64.slice(0, 32), 'base64'))
}
