// Scenario 4: memory stays flat. A steady rate of mixed requests (uploads of three kinds, base64, URLs
// from a loopback image server, and errors: bad key, unknown field, GIF, broken JPEG, 404 and non-image
// URLs, injected upstream faults) against the emulator; RSS and heap after a forced GC, at the end
// versus after the warm-up.
import { setTimeout as sleep } from 'node:timers/promises'
import {
  fittingJpeg, gifImage, jsonRequest, phoneJpeg, pngImage, startImageServer, uploadRequest
} from '../fixtures.js'
import { startEmulatorProcess, startProxyProcess, stopAll, type BenchContext } from '../launch.js'
import { statusCounts, steadyRate, type BenchRequest, type Outcome } from '../load.js'
import type { ChildServer, ProbeSample } from '../processes.js'
import type { ScenarioResult } from '../report.js'
import { distribution, MIB, ratio, round } from '../stats.js'
import type { Sizes } from '../sizes.js'

async function mixedRequests (imageServerUrl: string): Promise<BenchRequest[]> {
  const small = await fittingJpeg()
  const phone = await phoneJpeg(2000, 1500)
  const png = await pngImage(1000, 800)
  const gif = await gifImage()
  const broken = small.subarray(0, Math.floor(small.length / 2))
  // weights by repetition: mostly work that reaches the upstream, about a quarter errors
  return [
    uploadRequest(small, 'upload small JPEG'),
    uploadRequest(small, 'upload small JPEG'),
    uploadRequest(phone, 'upload 3 MP phone JPEG'),
    uploadRequest(png, 'upload 0.8 MP PNG', undefined, 'image/png'),
    jsonRequest({ image_base64: small.toString('base64') }, 'JSON base64'),
    jsonRequest({ image_url: `${imageServerUrl}/photo.jpg` }, 'URL'),
    jsonRequest({ image_url: `${imageServerUrl}/photo.jpg`, preset: 'angel-soft' }, 'URL'),
    uploadRequest(small, 'error: bad key', { authorization: 'Bearer not-a-key' }),
    jsonRequest({ image_url: `${imageServerUrl}/photo.jpg`, colour: 'red' }, 'error: unknown field'),
    uploadRequest(gif, 'error: GIF', undefined, 'image/gif'),
    uploadRequest(broken, 'error: broken JPEG'),
    jsonRequest({ image_url: `${imageServerUrl}/missing.jpg` }, 'error: URL 404'),
    jsonRequest({ image_url: `${imageServerUrl}/page.html` }, 'error: URL not an image')
  ]
}

function mib (bytes: number): number {
  return round(bytes / MIB, 1)
}

export async function soakScenario (context: BenchContext, sizes: Sizes['soak']): Promise<ScenarioResult> {
  const small = await fittingJpeg()
  const images = await startImageServer(small)
  let emulator: ChildServer | undefined
  let proxy: ChildServer | undefined
  const outcomes: Outcome[] = []
  const series: Array<{ atS: number, rssMiB: number, heapMiB: number }> = []
  let warm: ProbeSample
  let end: ProbeSample
  let lagP99 = 0
  try {
    emulator = await startEmulatorProcess(context, 'soak-emulator', { EMULATOR_FAULTS: '50500:0.02' })
    proxy = await startProxyProcess(context, 'soak-proxy', emulator.url, {
      IMAGE_FETCH_ALLOW_HOSTS: images.hostPort,
      UPSTREAM_CONCURRENCY: '16'
    })
    const requests = await mixedRequests(images.url)
    const next = (index: number): BenchRequest => requests[index % requests.length] as BenchRequest
    const server = proxy

    outcomes.push(...(await steadyRate(server.url, sizes.perSecond, sizes.warmupMs, next)).outcomes)
    warm = await server.sample({ gc: true })
    await server.reset()
    context.note(`soak: warm RSS ${mib(warm.rssBytes)} MiB, heap ${mib(warm.heapUsedBytes)} MiB; soaking ${sizes.measuredMs / 1000} s`)

    // sample along the way, so a slow climb shows as a trend, not just two points
    const sampling = { on: true }
    const sampler = (async () => {
      const started = Date.now()
      while (sampling.on) {
        await sleep(sizes.sampleEveryMs)
        if (!sampling.on) break
        const s = await server.sample()
        series.push({ atS: Math.round((Date.now() - started) / 1000), rssMiB: mib(s.rssBytes), heapMiB: mib(s.heapUsedBytes) })
      }
    })()
    try {
      outcomes.push(...(await steadyRate(server.url, sizes.perSecond, sizes.measuredMs, next)).outcomes)
    } finally {
      sampling.on = false
      await sampler
    }
    lagP99 = (await server.sample()).lagMs.p99
    end = await server.sample({ gc: true })
  } finally {
    await stopAll(proxy, emulator)
    await images.close()
  }

  const byKind = new Map<string, Outcome[]>()
  for (const outcome of outcomes) byKind.set(outcome.kind, [...(byKind.get(outcome.kind) ?? []), outcome])
  const kinds = Object.fromEntries([...byKind].map(([kind, list]) => [kind, { statuses: statusCounts(list), ms: distribution(list.map((o) => o.ms)) }]))
  const unexpected = outcomes.filter((o) => o.status === 0 || o.status === 500).length
  const rssRatio = ratio(end.rssBytes, warm.rssBytes)
  const heapRatio = ratio(end.heapUsedBytes, warm.heapUsedBytes)
  return {
    title: '4. Memory stays flat (soak)',
    data: {
      perSecond: sizes.perSecond,
      warmupS: sizes.warmupMs / 1000,
      measuredS: sizes.measuredMs / 1000,
      requests: outcomes.length,
      statuses: statusCounts(outcomes),
      unexpected,
      kinds,
      warm: { rssMiB: mib(warm.rssBytes), heapMiB: mib(warm.heapUsedBytes), externalMiB: mib(warm.externalBytes) },
      end: { rssMiB: mib(end.rssBytes), heapMiB: mib(end.heapUsedBytes), externalMiB: mib(end.externalBytes) },
      peakRssMiB: mib(end.peakRssBytes),
      rssEndOverWarm: rssRatio,
      heapEndOverWarm: heapRatio,
      lagP99Ms: lagP99,
      series
    },
    tables: [
      {
        headers: ['after GC', 'RSS MiB', 'heap used MiB', 'external + array buffers MiB'],
        rows: [
          [`after ${sizes.warmupMs / 1000} s warm-up`, mib(warm.rssBytes), mib(warm.heapUsedBytes), mib(warm.externalBytes)],
          [`after ${sizes.measuredMs / 1000} s more`, mib(end.rssBytes), mib(end.heapUsedBytes), mib(end.externalBytes)],
          ['end / warm', rssRatio, heapRatio, ratio(end.externalBytes, warm.externalBytes)]
        ]
      },
      {
        headers: ['request kind', 'answers', 'p50 ms', 'p99 ms'],
        rows: Object.entries(kinds).map(([kind, k]) => [kind, JSON.stringify(k.statuses), k.ms.p50, k.ms.p99])
      }
    ],
    targets: [
      { name: 'RSS at the end vs after warm-up', goal: '<= 1.10', measured: `${rssRatio} (${mib(warm.rssBytes)} -> ${mib(end.rssBytes)} MiB)`, met: rssRatio <= 1.1 },
      { name: 'heap at the end vs after warm-up', goal: '<= 1.10', measured: `${heapRatio} (${mib(warm.heapUsedBytes)} -> ${mib(end.heapUsedBytes)} MiB)`, met: heapRatio <= 1.1 },
      { name: 'no 500 and no lost request', goal: '0', measured: String(unexpected), met: unexpected === 0 }
    ],
    notes: [
      `${sizes.perSecond} requests/s for ${sizes.warmupMs / 1000} s warm-up plus ${sizes.measuredMs / 1000} s, cycling ${13} kinds; the emulator injects 50500 on 2% of calls; UPSTREAM_CONCURRENCY=16.`,
      `RSS/heap along the way (s: RSS/heap MiB): ${series.map((s) => `${s.atS}: ${s.rssMiB}/${s.heapMiB}`).join(', ')}`
    ]
  }
}
