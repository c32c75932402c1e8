// Scenario 1: what the proxy costs per request. The same ~100 KB already-fitting JPEG goes
// (a) through the proxy to the zero-work upstream, (b) straight to that upstream as the body the proxy
// would have signed, (c) to a bare fastify route that accepts the upload and answers as many bytes.
// Latency: one request at a time (no queueing). Throughput: a closed loop of N connections.
// Rounds alternate the three, so that the machine's noise falls on all of them alike.
import { mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { prepareImage } from '../../src/image/prepare.js'
import { BUILT_IN_PRESETS, DEFAULT_PRESET, upstreamParameters } from '../../src/stylize/presets.js'
import { signRequest, signingHost } from '../../src/upstream/sign.js'
import { CV_PROCESS_QUERY } from '../../src/upstream/client.js'
import { EMULATOR_AK, EMULATOR_SK } from '../../test/fixtures/harness.js'
import { summariseProfile } from '../cpu-profile.js'
import { fittingJpeg, uploadRequest, writeUpstreamReply } from '../fixtures.js'
import { startBareProcess, startProxyProcess, startUpstreamProcess, stopAll, type BenchContext } from '../launch.js'
import { closedLoop, sequential, statusCounts, type BenchRequest, type Outcome } from '../load.js'
import { ROOT, type ChildServer } from '../processes.js'
import type { ScenarioResult } from '../report.js'
import { distribution, ratio, round, type Distribution } from '../stats.js'
import type { Sizes } from '../sizes.js'

type Target = 'proxy' | 'direct' | 'bare'
const TARGETS: Target[] = ['proxy', 'direct', 'bare']

/** The body and signed headers the proxy itself would send for this image (default preset). */
function signedUpstreamRequest (image: Buffer, upstreamUrl: string): BenchRequest {
  const preset = BUILT_IN_PRESETS[DEFAULT_PRESET]
  if (preset === undefined) throw new Error('no default preset')
  const body = JSON.stringify({ ...upstreamParameters(preset, {}), binary_data_base64: [image.toString('base64')] })
  const url = new URL(upstreamUrl)
  const headers = signRequest({
    method: 'POST',
    host: signingHost(url),
    path: '/',
    query: CV_PROCESS_QUERY,
    contentType: 'application/json',
    body,
    date: new Date(),
    region: 'cn-north-1',
    service: 'cv',
    credentials: { accessKeyId: EMULATOR_AK, secretAccessKey: EMULATOR_SK }
  })
  return { method: 'POST', path: `/?Action=${CV_PROCESS_QUERY.Action}&Version=${CV_PROCESS_QUERY.Version}`, headers, body }
}

interface Tally { latency: Outcome[], load: Outcome[], loadMs: number, cpuMs: number, upstreamCpuMs: number }

export async function overheadScenario (context: BenchContext, sizes: Sizes['overhead'], options: { profile: boolean }): Promise<ScenarioResult> {
  const image = await fittingJpeg()
  const prepared = await prepareImage(image, { maxImagePixels: 1e8, imageMaxEdge: 1024, longResolution: 704 })
  const reply = writeUpstreamReply(context.workDir, image)
  const profileFile = join(context.workDir, 'profiles', 'proxy-closed-loop.cpuprofile')
  if (options.profile) mkdirSync(join(context.workDir, 'profiles'), { recursive: true })
  let profiled: { requests: number, wallMs: number } | undefined
  let upstream: ChildServer | undefined
  let proxy: ChildServer | undefined
  let bare: ChildServer | undefined
  const tallies: Record<Target, Tally> = {
    proxy: { latency: [], load: [], loadMs: 0, cpuMs: 0, upstreamCpuMs: 0 },
    direct: { latency: [], load: [], loadMs: 0, cpuMs: 0, upstreamCpuMs: 0 },
    bare: { latency: [], load: [], loadMs: 0, cpuMs: 0, upstreamCpuMs: 0 }
  }
  try {
    upstream = await startUpstreamProcess(context, 'overhead-upstream', reply.path)
    proxy = await startProxyProcess(context, 'overhead-proxy', upstream.url)
    bare = await startBareProcess(context, reply.path)
    const servers: Record<Target, ChildServer> = { proxy, direct: upstream, bare }
    const requests: Record<Target, BenchRequest> = {
      proxy: uploadRequest(image),
      direct: signedUpstreamRequest(image, upstream.url),
      bare: { ...uploadRequest(image), path: '/upload' }
    }
    for (const target of TARGETS) {
      const warm = await sequential(servers[target].url, sizes.warmup, () => requests[target])
      const failed = warm.outcomes.filter((o) => o.status !== 200)
      if (failed.length > 0) throw new Error(`${target} answered ${JSON.stringify(statusCounts(failed))} while warming up`)
    }
    for (let round = 0; round < sizes.rounds; round++) {
      for (const target of TARGETS) {
        const tally = tallies[target]
        tally.latency.push(...(await sequential(servers[target].url, sizes.sequentialPerRound, () => requests[target])).outcomes)
        await servers[target].reset()
        await upstream.reset()
        const profiling = options.profile && target === 'proxy' && round === 0
        if (profiling) await proxy.profileStart()
        const load = await closedLoop(servers[target].url, sizes.connections, sizes.loadMsPerRound, () => requests[target])
        if (profiling) {
          await proxy.profileStop(profileFile)
          profiled = { requests: load.outcomes.length, wallMs: load.wallMs }
        }
        tally.cpuMs += (await servers[target].sample()).cpuMs
        if (target === 'proxy') tally.upstreamCpuMs += (await upstream.sample()).cpuMs
        tally.load.push(...load.outcomes)
        tally.loadMs += load.wallMs
      }
      context.note(`overhead: round ${round + 1}/${sizes.rounds} done`)
    }
  } finally {
    await stopAll(proxy, bare, upstream)
  }

  const figures = Object.fromEntries(TARGETS.map((target) => {
    const t = tallies[target]
    const ok = t.load.filter((o) => o.status === 200)
    return [target, {
      latencyMs: distribution(t.latency.map((o) => o.ms)),
      requestsPerSecond: round(ok.length / (t.loadMs / 1000), 1),
      loadLatencyMs: distribution(t.load.map((o) => o.ms)),
      statuses: statusCounts([...t.latency, ...t.load]),
      cpuMsPerRequest: round(t.cpuMs / Math.max(1, t.load.length)),
      ...(target === 'proxy' ? { upstreamCpuMsPerRequest: round(t.upstreamCpuMs / Math.max(1, t.load.length)) } : {})
    }]
  })) as Record<Target, { latencyMs: Distribution, requestsPerSecond: number, loadLatencyMs: Distribution, statuses: Record<string, number>, cpuMsPerRequest: number }>

  const addedP50 = round(figures.proxy.latencyMs.p50 - figures.direct.latencyMs.p50)
  const addedOverBareP50 = round(figures.proxy.latencyMs.p50 - figures.bare.latencyMs.p50)
  const keptOfBare = ratio(figures.proxy.requestsPerSecond, figures.bare.requestsPerSecond)
  const data: Record<string, unknown> = {
    imageBytes: image.length,
    passedThrough: prepared.passedThrough,
    replyBytes: reply.bytes,
    connections: sizes.connections,
    ...figures,
    addedP50Ms: addedP50,
    addedP99Ms: round(figures.proxy.latencyMs.p99 - figures.direct.latencyMs.p99),
    addedOverBareP50Ms: addedOverBareP50,
    throughputVsBare: keptOfBare,
    throughputVsDirect: ratio(figures.proxy.requestsPerSecond, figures.direct.requestsPerSecond)
  }
  const notes = [
    `Image: ${image.length} bytes JPEG 1024x768, ${prepared.passedThrough ? 'sent upstream untouched (already fitting)' : 'RE-ENCODED (not a pass-through input)'}; every answer is ${reply.bytes} bytes of JSON.`,
    `Latency: ${sizes.rounds} x ${sizes.sequentialPerRound} sequential requests per target; throughput: ${sizes.connections} connections for ${sizes.rounds} x ${sizes.loadMsPerRound / 1000} s per target, client, servers and upstream on the same cores.`,
    'CPU ms/request: the server process\'s own user+system CPU over the closed loop, divided by its requests (the proxy\'s upstream shown apart).'
  ]
  if (profiled !== undefined) {
    const summary = summariseProfile(profileFile)
    // the profiler sees the main thread only: its busy share of the window, per request, against the whole process's CPU
    const mainThreadMsPerRequest = round(summary.busyPercent / 100 * profiled.wallMs / Math.max(1, profiled.requests))
    data.profile = { file: profileFile, mainThreadMsPerRequest, ...summary }
    notes.push(`CPU profile of the proxy over one closed loop (${relative(ROOT, profileFile)}): main thread busy ${summary.busyPercent}% ` +
      `= ${mainThreadMsPerRequest} ms per request (the rest of its CPU per request is sharp's threadpool); ` +
      'busy time by area: ' + summary.byArea.slice(0, 10).map((s) => `${s.name} ${s.percent}%`).join(', ') +
      '; top functions: ' + summary.byFunction.slice(0, 8).map((s) => `${s.name} ${s.percent}%`).join(', '))
  }
  return {
    title: '1. Proxy overhead',
    data,
    tables: [{
      headers: ['target', 'p50 ms (1 at a time)', 'p99 ms', `req/s (${sizes.connections} conns)`, 'p50 ms under load', 'p99 ms under load', 'server CPU ms/req'],
      rows: TARGETS.map((target) => {
        const f = figures[target]
        return [target, f.latencyMs.p50, f.latencyMs.p99, f.requestsPerSecond, f.loadLatencyMs.p50, f.loadLatencyMs.p99, f.cpuMsPerRequest]
      })
    }],
    targets: [
      { name: 'added latency p50 (proxy - direct)', goal: '<= 2 ms', measured: `${addedP50} ms (vs bare route: ${addedOverBareP50} ms)`, met: addedP50 <= 2 },
      { name: 'throughput kept vs bare route', goal: '>= 70%', measured: `${round(keptOfBare * 100, 1)}%`, met: keptOfBare >= 0.7 }
    ],
    notes
  }
}
