import { test } from 'tap'
import sharp from 'sharp'
import { mimeTypeOf, mimeTypeOfBase64, sniffImage } from '../../src/image/sniff.js'
import { bmp, ftyp, PHONE_EXIF, solid } from './fixtures/images.js'

test('JPEG: format and size from the SOF header', async (t) => {
  const jpeg = await solid(123, 45).jpeg().toBuffer()
  t.same(sniffImage(jpeg), { kind: 'supported', format: 'jpeg', width: 123, height: 45 })
})

test('JPEG: progressive (SOF2) after an EXIF segment reports the stored size, not the oriented one', async (t) => {
  const jpeg = await solid(300, 200).jpeg({ progressive: true }).withExif(PHONE_EXIF).toBuffer()
  t.same(sniffImage(jpeg), { kind: 'supported', format: 'jpeg', width: 300, height: 200 })
})

test('JPEG: fill bytes before markers and junk between segments are tolerated', async (t) => {
  const jpeg = await solid(640, 480).jpeg().toBuffer()
  // after the first segment: junk bytes, then a run of 0xFF fill bytes before the next marker
  const firstEnd = 4 + jpeg.readUInt16BE(4)
  const messy = Buffer.concat([jpeg.subarray(0, firstEnd), Buffer.from([0x12, 0x34, 0xff, 0xff, 0xff]), jpeg.subarray(firstEnd)])
  t.same(sniffImage(messy), { kind: 'supported', format: 'jpeg', width: 640, height: 480 })
})

test('JPEG: a header cut before the frame is still JPEG, size unknown', async (t) => {
  const jpeg = await solid(64, 64).jpeg().withExif(PHONE_EXIF).toBuffer()
  t.same(sniffImage(jpeg.subarray(0, 30)), { kind: 'supported', format: 'jpeg', width: undefined, height: undefined })
  t.same(sniffImage(Buffer.from([0xff, 0xd8, 0xff])), { kind: 'supported', format: 'jpeg', width: undefined, height: undefined })
})

test('JPEG: a segment length below 2 stops the walk instead of looping', async (t) => {
  const broken = Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10])
  t.same(sniffImage(broken), { kind: 'supported', format: 'jpeg', width: undefined, height: undefined })
})

test('JPEG: the size is not searched for past the start of scan', async (t) => {
  const sosFirst = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10])
  t.equal(sniffImage(sosFirst).kind, 'supported')
  t.match(sniffImage(sosFirst), { width: undefined })
})

test('PNG: size from IHDR; cut inside IHDR is PNG of unknown size', async (t) => {
  const png = await solid(321, 123).png().toBuffer()
  t.same(sniffImage(png), { kind: 'supported', format: 'png', width: 321, height: 123 })
  t.same(sniffImage(png.subarray(0, 20)), { kind: 'supported', format: 'png', width: undefined, height: undefined })
})

test('WebP lossy (VP8), lossless (VP8L) and extended (VP8X)', async (t) => {
  const lossy = await solid(333, 111).webp().toBuffer()
  const lossless = await solid(333, 111).webp({ lossless: true }).toBuffer()
  const extended = await solid(333, 111).ensureAlpha(0.5).webp().toBuffer()
  t.equal(lossy.toString('latin1', 12, 16), 'VP8 ')
  t.equal(lossless.toString('latin1', 12, 16), 'VP8L')
  t.equal(extended.toString('latin1', 12, 16), 'VP8X')
  for (const webp of [lossy, lossless, extended]) {
    t.same(sniffImage(webp), { kind: 'supported', format: 'webp', width: 333, height: 111 })
  }
})

test('WebP cut before its frame header is WebP of unknown size', async (t) => {
  const webp = await solid(333, 111).webp().toBuffer()
  t.same(sniffImage(webp.subarray(0, 24)), { kind: 'supported', format: 'webp', width: undefined, height: undefined })
})

test('WebP frame headers without their signature bytes give no size', async (t) => {
  const lossy = Buffer.from(await solid(333, 111).webp().toBuffer())
  lossy[23] = 0
  const lossless = Buffer.from(await solid(333, 111).webp({ lossless: true }).toBuffer())
  lossless[20] = 0
  for (const webp of [lossy, lossless]) {
    t.same(sniffImage(webp), { kind: 'supported', format: 'webp', width: undefined, height: undefined })
  }
})

test('GIF, TIFF, AVIF and PDF are recognised as unsupported', async (t) => {
  t.same(sniffImage(await solid(10, 10).gif().toBuffer()), { kind: 'unsupported', format: 'gif' })
  t.same(sniffImage(await solid(10, 10).tiff().toBuffer()), { kind: 'unsupported', format: 'tiff' })
  t.same(sniffImage(await solid(64, 64).avif().toBuffer()), { kind: 'unsupported', format: 'avif' })
  t.same(sniffImage(Buffer.from('%PDF-1.7\n1 0 obj')), { kind: 'unsupported', format: 'pdf' })
})

test('HEIC and HEIF by their ftyp brands; other ISO media as mp4', async (t) => {
  t.same(sniffImage(ftyp('heic', 'mif1', 'heic')), { kind: 'unsupported', format: 'heic' })
  t.same(sniffImage(ftyp('mif1', 'heix')), { kind: 'unsupported', format: 'heic' })
  t.same(sniffImage(ftyp('mif1', 'miaf')), { kind: 'unsupported', format: 'heif' })
  t.same(sniffImage(ftyp('avif', 'mif1', 'miaf')), { kind: 'unsupported', format: 'avif' })
  t.same(sniffImage(ftyp('isom', 'mp41')), { kind: 'unsupported', format: 'mp4' })
})

test('BMP, PSD, JPEG XL, JPEG 2000 and ICO', async (t) => {
  t.same(sniffImage(bmp(4, 4)), { kind: 'unsupported', format: 'bmp' })
  t.same(sniffImage(Buffer.from('8BPS\0\x01', 'latin1')), { kind: 'unsupported', format: 'psd' })
  t.same(sniffImage(Buffer.from([0xff, 0x0a, 0xfa, 0x7f])), { kind: 'unsupported', format: 'jxl' })
  t.same(sniffImage(Buffer.from('\0\0\0\x0cjP  \r\n\x87\n', 'latin1')), { kind: 'unsupported', format: 'jpeg2000' })
  t.same(sniffImage(Buffer.from([0, 0, 1, 0, 1, 0, 16, 16])), { kind: 'unsupported', format: 'ico' })
})

test('SVG: after a BOM and whitespace, with or without an XML declaration', async (t) => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
  t.same(sniffImage(Buffer.from(svg)), { kind: 'unsupported', format: 'svg' })
  t.same(sniffImage(Buffer.from('\uFEFF \n\t' + svg)), { kind: 'unsupported', format: 'svg' })
  t.same(sniffImage(Buffer.from('<?xml version="1.0"?>\n' + svg)), { kind: 'unsupported', format: 'svg' })
  t.same(sniffImage(Buffer.from('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">' + svg)), { kind: 'unsupported', format: 'svg' })
  t.same(sniffImage(Buffer.from('<!-- made by hand -->\n' + svg)), { kind: 'unsupported', format: 'svg' })
})

test('an XML document that is not SVG (a storage error page) is unknown, not SVG', async (t) => {
  const error = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code></Error>'
  t.same(sniffImage(Buffer.from(error)), { kind: 'unknown' })
})

test('the declared type is never consulted: text, HTML and empty input are unknown', async (t) => {
  for (const text of ['', 'hello', '<html><body>not an image</body></html>', 'RIFF\0\0\0\0WAVEfmt ']) {
    t.same(sniffImage(Buffer.from(text, 'latin1')), { kind: 'unknown' }, JSON.stringify(text))
  }
})

test('never throws on any prefix of real images, nor on random bytes behind a signature', async (t) => {
  const samples = [
    await solid(50, 40).jpeg().withExif(PHONE_EXIF).toBuffer(),
    await solid(50, 40).png().toBuffer(),
    await solid(50, 40).webp().toBuffer(),
    await solid(50, 40).ensureAlpha(0.5).webp().toBuffer(),
    ftyp('heic', 'mif1')
  ]
  let checked = 0
  for (const sample of samples) {
    for (let end = 0; end <= sample.length; end++) {
      sniffImage(sample.subarray(0, end))
      checked++
    }
  }
  // a deterministic generator, so a failure can be replayed
  let seed = 42
  const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff }
  const signatures = [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [...Buffer.from('RIFF\0\0\0\0WEBPVP8X')], [0, 0, 0, 0, ...Buffer.from('ftyp')]]
  for (let round = 0; round < 2000; round++) {
    const signature = signatures[round % signatures.length] as number[]
    const tail = Array.from({ length: round % 64 }, random)
    sniffImage(Buffer.from([...signature, ...tail]))
    checked++
  }
  t.ok(checked > 2000, `${checked} inputs sniffed without throwing`)
})

test('a megabyte of fill bytes after SOI is walked in linear time', async (t) => {
  const evil = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(1024 * 1024, 0xff)])
  const started = performance.now()
  t.same(sniffImage(evil), { kind: 'supported', format: 'jpeg', width: undefined, height: undefined })
  t.ok(performance.now() - started < 200)
})

test('mimeTypeOfBase64 tells the type from the first bytes alone, as mimeTypeOf does from all of them', async (t) => {
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } })[format]().toBuffer()
    t.equal(mimeTypeOfBase64(image.toString('base64')), `image/${format}`)
    t.equal(mimeTypeOfBase64(image.toString('base64')), mimeTypeOf(image))
  }
  t.equal(mimeTypeOfBase64(Buffer.from('not an image at all').toString('base64')), 'application/octet-stream')
  t.equal(mimeTypeOfBase64(''), 'application/octet-stream')
})
