// Scenario 2: the image pipeline alone (prepareImage, in this process): time and bytes sent upstream
// per input kind, one at a time; then many 12 MP photos at once, to see whether both cores work.
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { prepareImage, type PrepareOptions } from '../../src/image/prepare.js'
import { JPEG_OPTIONS } from '../../src/image/encode.js'
import { sharp } from '../../src/image/sharp-setup.js'
import { cameraJpeg, phoneJpeg, pngImage, webpImage } from '../fixtures.js'
import type { BenchContext } from '../launch.js'
import type { ScenarioResult } from '../report.js'
import { distribution, ratio, round } from '../stats.js'
import type { Sizes } from '../sizes.js'

/** The proxy's defaults: IMAGE_MAX_EDGE 1024, MAX_IMAGE_PIXELS 100 MP, the presets' long_resolution 704. */
const OPTIONS: PrepareOptions = { maxImagePixels: 100_000_000, imageMaxEdge: 1024, longResolution: 704 }

export async function pipelineScenario (context: BenchContext, sizes: Sizes['pipeline']): Promise<ScenarioResult> {
  const inputs = [
    { name: `JPEG ${mp(sizes.jpeg)} MP (phone, EXIF-rotated)`, key: 'jpeg', bytes: await phoneJpeg(...sizes.jpeg) },
    { name: `JPEG ${sizes.photo.join('x')} (camera)`, key: 'photo', bytes: await cameraJpeg(...sizes.photo) },
    { name: `PNG ${mp(sizes.png)} MP`, key: 'png', bytes: await pngImage(...sizes.png) },
    { name: `WebP ${mp(sizes.webp)} MP`, key: 'webp', bytes: await webpImage(...sizes.webp) }
  ]
  const perInput: Record<string, { ms: { p50: number }, bareMs: { p50: number }, overBare: number, bytesOutOverIn: number }> = {}
  const rows: Array<Array<string | number>> = []
  for (const input of inputs) {
    const first = await prepareImage(input.bytes, OPTIONS) // warm-up, and the output facts
    // the baseline: one sharp pipeline from the same bytes to the same output, nothing checked
    const bare = async () => await sharp(input.bytes).autoOrient().resize(first.width, first.height, { fit: 'fill' })
      .toFormat(first.format, first.format === 'jpeg' ? JPEG_OPTIONS : {}).toBuffer()
    await bare()
    const times: number[] = []
    const bareTimes: number[] = []
    // alternating, so that a busy neighbour slows both alike
    for (let i = 0; i < sizes.runs; i++) {
      let started = performance.now()
      await prepareImage(input.bytes, OPTIONS)
      times.push(performance.now() - started)
      started = performance.now()
      await bare()
      bareTimes.push(performance.now() - started)
    }
    const ms = distribution(times)
    const bareMs = distribution(bareTimes)
    const figures = {
      inputBytes: input.bytes.length,
      outputBytes: first.data.length,
      bytesOutOverIn: ratio(first.data.length, input.bytes.length),
      output: `${first.format} ${first.width}x${first.height}`,
      ms,
      bareMs,
      overBare: ratio(ms.p50, bareMs.p50)
    }
    perInput[input.key] = figures
    rows.push([input.name, figures.inputBytes, figures.outputBytes, figures.bytesOutOverIn, figures.output, ms.p50, ms.p99, bareMs.p50, figures.overBare])
    context.note(`pipeline: ${input.name} p50 ${ms.p50} ms (one bare sharp pipeline ${bareMs.p50} ms)`)
  }

  // Parallel load: as many 12 MP photos in flight as a busy proxy would have, CPU time over wall time.
  const jpeg = inputs[0]?.bytes as Buffer
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: sizes.parallelInFlight }, async () => {
    while (next < sizes.parallelImages) {
      next++
      await prepareImage(jpeg, OPTIONS)
    }
  }))
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const cores = availableParallelism()
  const busyCores = round((cpu.user + cpu.system) / 1000 / wallMs, 2)
  const jpegFigures = perInput.jpeg as { ms: { p50: number }, bytesOutOverIn: number }
  const overBare = inputs.map((input) => ({ name: input.name, ratio: perInput[input.key]?.overBare ?? Infinity }))
  const parallelPerSecond = round(sizes.parallelImages / (wallMs / 1000), 2)
  const sequentialPerSecond = round(1000 / jpegFigures.ms.p50, 2)
  const parallel = {
    images: sizes.parallelImages,
    inFlight: sizes.parallelInFlight,
    imagesPerSecond: parallelPerSecond,
    sequentialImagesPerSecond: sequentialPerSecond,
    speedup: ratio(parallelPerSecond, sequentialPerSecond),
    busyCores,
    cores,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)'
  }
  return {
    title: '2. Image pipeline (prepareImage)',
    data: { ...perInput, parallel },
    tables: [
      { headers: ['input', 'bytes in', 'bytes out', 'out/in', 'sent as', 'p50 ms', 'p99 ms', 'one sharp pipeline, p50 ms', 'prepareImage / pipeline'], rows },
      {
        headers: ['parallel load', 'images/s', 'one at a time, images/s', 'speedup', 'busy cores (CPU time / wall time)'],
        rows: [[`${sizes.parallelImages} x ${mp(sizes.jpeg)} MP JPEG, ${sizes.parallelInFlight} in flight`, parallelPerSecond, sequentialPerSecond, parallel.speedup, `${busyCores} of ${cores}`]]
      }
    ],
    targets: [
      { name: `${mp(sizes.jpeg)} MP JPEG prepared, p50`, goal: '<= 150 ms', measured: `${jpegFigures.ms.p50} ms`, met: jpegFigures.ms.p50 <= 150 },
      { name: `${mp(sizes.jpeg)} MP JPEG bytes sent / bytes in`, goal: '<= 10%', measured: `${round(jpegFigures.bytesOutOverIn * 100, 1)}%`, met: jpegFigures.bytesOutOverIn <= 0.1 },
      ...overBare.map((entry) => ({ name: `${entry.name}: prepareImage against one sharp pipeline to the same output, p50`, goal: '<= 1.15x', measured: `${entry.ratio}x`, met: entry.ratio <= 1.15 })),
      { name: 'both cores busy under parallel load', goal: `>= ${round(cores * 0.8, 1)} busy cores`, measured: `${busyCores}`, met: busyCores >= cores * 0.8 }
    ],
    notes: [
      'The baseline is one sharp pipeline (autoOrient, resize, encode) from the same bytes to the same size and format, timed alternately with prepareImage; prepareImage adds the format sniff, metadata() and its checks.',
      'Inputs are photo-like (gradient plus noise, so they compress like photos, somewhat worse); options are the proxy defaults (IMAGE_MAX_EDGE 1024, long_resolution 704).',
      `Busy cores count this process's CPU time, sharp's threadpool included, over the wall time; UV_THREADPOOL_SIZE ${parallel.uvThreadpoolSize}.`
    ]
  }
}

function mp ([width, height]: [number, number]): number {
  return round(width * height / 1e6, 1)
}
