// Whether a JPEG or PNG holds nothing but its picture: no EXIF, GPS, XMP, IPTC, ICC, comments, text chunks,
// thumbnails or bytes after its end (phones append trailers there). Only such a file may go upstream untouched.

// DQT, DHT, DRI, baseline/extended/progressive SOF; APP0 is allowed only as a bare JFIF header (no thumbnail).
const PLAIN_JPEG_SEGMENTS = new Set([0xdb, 0xc4, 0xdd, 0xc0, 0xc1, 0xc2])
const JFIF_WITHOUT_THUMBNAIL_LENGTH = 16

export function isBareJpeg (bytes: Buffer): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return false
  let i = 2
  let inScan = false
  while (i + 1 < bytes.length) {
    if (inScan) {
      // Inside entropy-coded data 0xFF is followed by 0x00 (stuffing) or RSTn; anything else is a marker.
      const next = bytes.indexOf(0xff, i)
      if (next < 0 || next + 1 >= bytes.length) return false
      const code = bytes[next + 1] as number
      i = next + 1
      if (code === 0x00 || code === 0xff || (code >= 0xd0 && code <= 0xd7)) continue
      inScan = false
      i = next
    }
    if (bytes[i] !== 0xff) return false
    const marker = bytes[i + 1] as number
    if (marker === 0xd9) return i + 2 === bytes.length
    if (i + 4 > bytes.length) return false
    const length = bytes.readUInt16BE(i + 2)
    if (length < 2) return false
    if (marker === 0xda) {
      inScan = true
    } else if (marker === 0xe0) {
      if (length !== JFIF_WITHOUT_THUMBNAIL_LENGTH || bytes.toString('latin1', i + 4, i + 9) !== 'JFIF\0') return false
    } else if (!PLAIN_JPEG_SEGMENTS.has(marker)) {
      return false
    }
    i += 2 + length
  }
  return false
}

// Chunks that only describe pixels; tEXt/zTXt/iTXt/eXIf/iCCP/tIME, animation and private chunks are not.
const PLAIN_PNG_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND', 'gAMA', 'cHRM', 'sRGB', 'sBIT', 'pHYs', 'bKGD'])

export function isBarePng (bytes: Buffer): boolean {
  let i = 8
  while (i + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(i)
    const type = bytes.toString('latin1', i + 4, i + 8)
    if (!PLAIN_PNG_CHUNKS.has(type)) return false
    i += 12 + length
    if (type === 'IEND') return i === bytes.length
  }
  return false
}
