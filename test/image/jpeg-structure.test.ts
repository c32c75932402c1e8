import { test } from 'tap'
import { readJpegStructure } from '../../src/image/jpeg-structure.js'
import { prepareImage, type PrepareOptions } from '../../src/image/prepare.js'
import { photo, solid } from './fixtures/images.js'

const options: PrepareOptions = { maxImagePixels: 100_000_000, imageMaxEdge: 1024, longResolution: 704 }

/** Offset of the first segment with this marker (its 0xFF), found by walking the headers before the first scan. */
function segmentAt (jpeg: Buffer, marker: number): number {
  let at = 2
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    if (jpeg[at + 1] === marker) return at
    if (jpeg[at + 1] === 0xda) break
    at += 2 + jpeg.readUInt16BE(at + 2)
  }
  throw new Error(`no segment 0x${marker.toString(16)} before the first scan`)
}

/** A copy with one byte changed. */
function withByte (jpeg: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(jpeg)
  copy[offset] = value
  return copy
}

async function fittingJpeg (progressive = false): Promise<Buffer> {
  return await (await photo(1024, 768)).jpeg({ quality: 85, progressive }).toBuffer()
}

test('baseline, progressive and greyscale JPEGs written by libjpeg are whole', async (t) => {
  t.match(readJpegStructure(await fittingJpeg()), { width: 1024, height: 768, components: 3 })
  t.match(readJpegStructure(await fittingJpeg(true)), { width: 1024, height: 768, components: 3 })
  t.match(readJpegStructure(await solid(300, 200).toColourspace('b-w').jpeg().toBuffer()), { width: 300, height: 200, components: 1 })
  t.match(readJpegStructure(await solid(64, 48).jpeg({ optimiseScans: true, progressive: true }).toBuffer()), { components: 3 })
})

test('a JPEG cut short anywhere is not whole', async (t) => {
  const jpeg = await fittingJpeg(true)
  for (const fraction of [0.001, 0.01, 0.2, 0.5, 0.9, 0.999]) {
    t.equal(readJpegStructure(jpeg.subarray(0, Math.floor(jpeg.length * fraction))), undefined, `cut at ${fraction}`)
  }
  t.equal(readJpegStructure(jpeg.subarray(0, jpeg.length - 1)), undefined, 'the end marker half there')
})

test('bytes after the end marker, or a second start marker, make it not whole', async (t) => {
  const jpeg = await fittingJpeg()
  t.equal(readJpegStructure(Buffer.concat([jpeg, Buffer.from([0, 0])])), undefined)
  t.equal(readJpegStructure(Buffer.concat([jpeg.subarray(0, 2), jpeg])), undefined)
})

test('a segment whose length runs past the file is not whole', async (t) => {
  const jpeg = await fittingJpeg()
  const dqt = segmentAt(jpeg, 0xdb)
  const broken = Buffer.from(jpeg)
  broken.writeUInt16BE(0xfff0, dqt + 2)
  t.equal(readJpegStructure(broken.subarray(0, dqt + 200)), undefined)
})

test('fill bytes before a marker are allowed, as the standard allows them', async (t) => {
  const jpeg = await fittingJpeg()
  const dqt = segmentAt(jpeg, 0xdb)
  const padded = Buffer.concat([jpeg.subarray(0, dqt), Buffer.from([0xff, 0xff]), jpeg.subarray(dqt)])
  t.match(readJpegStructure(padded), { width: 1024, height: 768 })
})

test('a scan naming a Huffman table, component or quantisation table never defined is not whole', async (t) => {
  const jpeg = await fittingJpeg()
  const sos = segmentAt(jpeg, 0xda)
  // SOS: length(2), count(1), then per component: id(1), DC table << 4 | AC table
  t.equal(readJpegStructure(withByte(jpeg, sos + 6, 0x33)), undefined, 'Huffman tables 3')
  t.equal(readJpegStructure(withByte(jpeg, sos + 5, 0x09)), undefined, 'component 9')
  const sof = segmentAt(jpeg, 0xc0)
  // SOF: length(2), precision(1), height(2), width(2), count(1), then per component: id, sampling, quantisation table
  t.equal(readJpegStructure(withByte(jpeg, sof + 12, 3)), undefined, 'quantisation table 3')
})

test('a Huffman table no decoder accepts is not whole', async (t) => {
  const jpeg = await fittingJpeg()
  const dht = segmentAt(jpeg, 0xc4)
  // three codes of length 1: only two exist
  t.equal(readJpegStructure(withByte(jpeg, dht + 5, 3)), undefined)
})

test('a frame of zero width, or with sampling factors out of range, is not whole', async (t) => {
  const jpeg = await fittingJpeg()
  const sof = segmentAt(jpeg, 0xc0)
  const zeroWidth = Buffer.from(jpeg)
  zeroWidth.writeUInt16BE(0, sof + 7)
  t.equal(readJpegStructure(zeroWidth), undefined)
  t.equal(readJpegStructure(withByte(jpeg, sof + 11, 0x51)), undefined)
})

test('a bare JPEG that is not whole is never passed through: the decode refuses it 422', async (t) => {
  const jpeg = await fittingJpeg()
  const sos = segmentAt(jpeg, 0xda)
  const dht = segmentAt(jpeg, 0xc4)
  const broken = [withByte(jpeg, sos + 6, 0x33), withByte(jpeg, dht + 5, 3), jpeg.subarray(0, Math.floor(jpeg.length * 0.6))]
  for (const bytes of broken) {
    await t.rejects(prepareImage(bytes, options), { statusCode: 422, code: 'INVALID_IMAGE' })
  }
  const whole = await prepareImage(jpeg, options)
  t.equal(whole.passedThrough, true, 'the same file, whole, goes upstream untouched')
})

test('sampling and scan parameters libjpeg refuses are not whole: too many blocks, fractional sampling, a bad progressive band', async (t) => {
  const jpeg = await fittingJpeg() // 4:2:0: Y 2x2, Cb and Cr 1x1
  const sof = segmentAt(jpeg, 0xc0)
  t.equal(jpeg[sof + 11], 0x22, 'luma 2x2')
  const twelveBlocks = withByte(withByte(jpeg, sof + 14, 0x22), sof + 17, 0x22)
  t.equal(readJpegStructure(twelveBlocks), undefined, '12 blocks per MCU in the interleaved scan')
  const fractional = withByte(withByte(withByte(jpeg, sof + 11, 0x31), sof + 14, 0x21), sof + 17, 0x21)
  t.equal(readJpegStructure(fractional), undefined, 'luma 3x1 against chroma 2x1')
  const progressive = await fittingJpeg(true)
  const dcScan = segmentAt(progressive, 0xda)
  t.equal(progressive[dcScan + 4], 3, 'the first scan: DC of the three components')
  t.equal(readJpegStructure(withByte(progressive, dcScan + 12, 5)), undefined, 'a DC scan reaching into the AC band')
  for (const bytes of [twelveBlocks, fractional]) {
    await t.rejects(prepareImage(bytes, options), { statusCode: 422, code: 'INVALID_IMAGE' }, 'and the decode refuses it')
  }
})
