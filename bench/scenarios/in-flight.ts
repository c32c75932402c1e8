// Scenario 3: many slow calls in flight. (a) N clients at once, a slow zero-work upstream, the gate wide
// open: every one answered 200, none lost; the proxy's event-loop delay and peak RSS while they wait.
// (a2) As many arriving evenly over the upstream's latency, so that all are in flight at the end.
// (b) The gate at 2 with a bounded queue in front of the emulator: the overflow is refused 503 at once
// and the upstream never sees more than 2 calls.
import { fittingJpeg, uploadRequest, writeUpstreamReply } from '../fixtures.js'
import { proxyLoggedMs, startEmulatorProcess, startProxyProcess, startUpstreamProcess, stopAll, upstreamStats, type BenchContext } from '../launch.js'
import { burst, statusCounts, steadyRate } from '../load.js'
import type { ChildServer } from '../processes.js'
import type { ScenarioResult, Target } from '../report.js'
import { distribution, MIB, round } from '../stats.js'
import type { Sizes } from '../sizes.js'

/** Parts (a) and (a2): the gate wide open. */
const WIDE_OPEN = {
  UPSTREAM_CONCURRENCY: '5000',
  UPSTREAM_QUEUE_MAX: '100000',
  // these parts measure holding many slow calls, not admission: all of them may prepare at once
  IMAGE_WORK_MAX: '100000',
  // the whole wait must fit: every call could queue behind the pool for a while
  UPSTREAM_QUEUE_TIMEOUT_MS: '600000'
}

export async function inFlightScenario (context: BenchContext, sizes: Sizes['inFlight']): Promise<ScenarioResult> {
  const image = await fittingJpeg()
  const request = uploadRequest(image)
  const reply = writeUpstreamReply(context.workDir, image)
  const notes: string[] = []
  const targets: Target[] = []

  // (a) wide open
  let upstream: ChildServer | undefined
  let proxy: ChildServer | undefined
  let open: Record<string, unknown>
  try {
    upstream = await startUpstreamProcess(context, 'in-flight-upstream', reply.path, sizes.latencyMs)
    proxy = await startProxyProcess(context, 'in-flight-proxy', upstream.url, WIDE_OPEN)
    await proxy.reset()
    const idle = await proxy.sample({ gc: true })
    const result = await burst(proxy.url, sizes.clients, () => request)
    const probe = await proxy.sample()
    const stats = await upstreamStats(upstream.url, '/_stats')
    const counts = statusCounts(result.outcomes)
    const ok = counts['200'] ?? 0
    const lost = result.outcomes.filter((o) => o.status === 0).length
    open = {
      clients: sizes.clients,
      upstreamLatencyMs: sizes.latencyMs,
      statuses: counts,
      ok,
      lost,
      latencyMs: distribution(result.outcomes.map((o) => o.ms)),
      wallMs: round(result.wallMs, 0),
      lagMs: probe.lagMs,
      idleRssMiB: round(idle.rssBytes / MIB, 1),
      peakRssMiB: round(probe.peakRssBytes / MIB, 1),
      upstreamMaxInFlight: stats.maxInFlight,
      upstreamCalls: stats.calls
    }
    targets.push(
      { name: `all ${sizes.clients} answered 200`, goal: `${sizes.clients} x 200`, measured: Object.entries(counts).map(([k, v]) => `${v} x ${k}`).join(', '), met: ok === sizes.clients },
      { name: 'none lost (no answer at all)', goal: '0', measured: String(lost), met: lost === 0 },
      { name: 'proxy event-loop delay p99', goal: '< 50 ms', measured: `${probe.lagMs.p99} ms (max ${probe.lagMs.max} ms)`, met: probe.lagMs.p99 < 50 },
      { name: 'proxy peak RSS', goal: '< 1024 MiB', measured: `${open.peakRssMiB as number} MiB (idle ${open.idleRssMiB as number} MiB)`, met: probe.peakRssBytes < 1024 * MIB }
    )
    if (stats.maxInFlight < Math.min(sizes.clients, 5000)) {
      notes.push(`With the gate at 5000, the upstream saw at most ${stats.maxInFlight} calls at once: something else bounds the calls in flight ` +
        '(the proxy\'s undici Pool to the upstream holds 64 connections by default), so the rest wait in the proxy.')
    }
    context.note(`in-flight: ${ok}/${sizes.clients} ok, lag p99 ${probe.lagMs.p99} ms, peak RSS ${open.peakRssMiB as number} MiB`)
  } finally {
    await stopAll(proxy, upstream)
  }

  // (a2) the same calls arriving at a rate the cores sustain: spread over the upstream's latency, so that
  // all of them are in flight together at the end, without the burst's one second of arrivals at once
  let ramped: Record<string, unknown>
  try {
    upstream = await startUpstreamProcess(context, 'in-flight-ramp-upstream', reply.path, sizes.latencyMs)
    proxy = await startProxyProcess(context, 'in-flight-ramp-proxy', upstream.url, WIDE_OPEN)
    await proxy.reset()
    const perSecond = sizes.clients / (sizes.latencyMs / 1000)
    const result = await steadyRate(proxy.url, perSecond, sizes.latencyMs, () => request, sizes.clients + 16)
    const probe = await proxy.sample()
    const stats = await upstreamStats(upstream.url, '/_stats')
    const counts = statusCounts(result.outcomes)
    const ok = counts['200'] ?? 0
    ramped = {
      clients: result.outcomes.length,
      perSecond: round(perSecond, 1),
      statuses: counts,
      lagMs: probe.lagMs,
      peakRssMiB: round(probe.peakRssBytes / MIB, 1),
      upstreamMaxInFlight: stats.maxInFlight
    }
    targets.push(
      { name: `${result.outcomes.length} arriving at ${round(perSecond, 0)}/s over ${sizes.latencyMs} ms: all answered 200`, goal: `${result.outcomes.length} x 200`, measured: Object.entries(counts).map(([k, v]) => `${v} x ${k}`).join(', '), met: ok === result.outcomes.length },
      { name: 'the same: calls in flight at once, max', goal: `>= ${Math.round(sizes.clients * 0.9)}`, measured: String(stats.maxInFlight), met: stats.maxInFlight >= sizes.clients * 0.9 },
      { name: 'the same: proxy event-loop delay p99', goal: '< 50 ms', measured: `${probe.lagMs.p99} ms (max ${probe.lagMs.max} ms)`, met: probe.lagMs.p99 < 50 },
      { name: 'the same: proxy peak RSS', goal: '< 1024 MiB', measured: `${ramped.peakRssMiB as number} MiB`, met: probe.peakRssBytes < 1024 * MIB }
    )
    context.note(`in-flight ramped: ${JSON.stringify(counts)} at ${round(perSecond, 0)}/s, upstream max ${stats.maxInFlight}, lag p99 ${probe.lagMs.p99} ms, peak RSS ${ramped.peakRssMiB as number} MiB`)
  } finally {
    await stopAll(proxy, upstream)
  }

  // (b) gate at 2, bounded queue
  let emulator: ChildServer | undefined
  let gatedProxy: ChildServer | undefined
  let gated: Record<string, unknown>
  try {
    emulator = await startEmulatorProcess(context, 'in-flight-emulator', { EMULATOR_LATENCY_MS: String(sizes.gatedLatencyMs) })
    gatedProxy = await startProxyProcess(context, 'in-flight-gated-proxy', emulator.url, {
      UPSTREAM_CONCURRENCY: '2',
      UPSTREAM_QUEUE_MAX: String(sizes.gatedQueueMax)
    })
    const result = await burst(gatedProxy.url, sizes.gatedClients, () => request)
    const stats = await upstreamStats(emulator.url)
    // the floor of this harness: as many GET /healthz at once, each on a new connection, no work at all
    const floor = await burst(gatedProxy.url, sizes.gatedClients, () => ({ method: 'GET', path: '/healthz', headers: {} }))
    const floorMs = distribution(floor.outcomes.map((o) => o.ms))
    const counts = statusCounts(result.outcomes)
    const busy = result.outcomes.filter((o) => o.status === 503)
    const busyMs = distribution(busy.map((o) => o.ms))
    // as the proxy timed them: from its reading the headers to its answer written
    const proxyBusyMs = distribution(proxyLoggedMs(context, 'in-flight-gated-proxy', 503))
    const gateSeen = busy.length > 0 || stats.maxInFlight <= 2
    gated = {
      clients: sizes.gatedClients,
      concurrency: 2,
      queueMax: sizes.gatedQueueMax,
      upstreamLatencyMs: sizes.gatedLatencyMs,
      statuses: counts,
      refusedMs: busyMs,
      proxyRefusedMs: proxyBusyMs,
      okMs: distribution(result.outcomes.filter((o) => o.status === 200).map((o) => o.ms)),
      upstreamMaxInFlight: stats.maxInFlight,
      upstreamCalls: stats.calls,
      gate: gateSeen ? 'present' : 'absent',
      healthzBurstMs: floorMs
    }
    notes.push(`The same burst of ${sizes.gatedClients} as GET /healthz (new connections, no work): p50 / p99 ${floorMs.p50} / ${floorMs.p99} ms, ` +
      'the floor of a burst from one load generator sharing the cores: refusals cannot come sooner than any answer does. ' +
      `The proxy's own log times the refusals at p50 / p99 ${proxyBusyMs.p50} / ${proxyBusyMs.p99} ms.`)
    if (!gateSeen) {
      notes.push(`THE CONCURRENCY GATE IS ABSENT: with UPSTREAM_CONCURRENCY=2 all ${sizes.gatedClients} calls went upstream ` +
        `(max ${stats.maxInFlight} at once) and none was refused 503; the gate targets are not measured.`)
    }
    targets.push(
      { name: '503 refusals are immediate, p99', goal: '< 50 ms', measured: busy.length === 0 ? 'no 503 at all' : `${busyMs.p99} ms over ${busy.length} refusals`, met: gateSeen ? busy.length > 0 && busyMs.p99 < 50 : null },
      { name: 'upstream calls at once, max', goal: '<= 2', measured: String(stats.maxInFlight), met: gateSeen ? stats.maxInFlight <= 2 : null }
    )
    context.note(`in-flight gated: ${JSON.stringify(counts)}, upstream max ${stats.maxInFlight}`)
  } finally {
    await stopAll(gatedProxy, emulator)
  }

  const openLatency = open.latencyMs as { p50: number, p99: number, max: number }
  return {
    title: '3. Many slow calls in flight',
    data: { open, ramped, gated },
    tables: [
      {
        headers: ['gate wide open', 'clients', 'upstream latency', 'answers', 'client p50 / p99 / max ms', 'loop delay p99 / max ms', 'peak RSS MiB', 'upstream max in flight'],
        rows: [['UPSTREAM_CONCURRENCY=5000', sizes.clients, `${sizes.latencyMs} ms`, JSON.stringify(open.statuses), `${openLatency.p50} / ${openLatency.p99} / ${openLatency.max}`,
          `${(open.lagMs as { p99: number }).p99} / ${(open.lagMs as { max: number }).max}`, open.peakRssMiB as number, open.upstreamMaxInFlight as number],
        [`the same, arriving at ${ramped.perSecond as number}/s`, ramped.clients as number, `${sizes.latencyMs} ms`, JSON.stringify(ramped.statuses), '',
          `${(ramped.lagMs as { p99: number }).p99} / ${(ramped.lagMs as { max: number }).max}`, ramped.peakRssMiB as number, ramped.upstreamMaxInFlight as number]]
      },
      {
        headers: ['gate at 2', 'clients', 'queue max', 'answers', '503 p50 / p99 ms', 'upstream max in flight', 'gate'],
        rows: [['UPSTREAM_CONCURRENCY=2', sizes.gatedClients, sizes.gatedQueueMax, JSON.stringify(gated.statuses),
          `${(gated.refusedMs as { p50: number }).p50} / ${(gated.refusedMs as { p99: number }).p99}`, gated.upstreamMaxInFlight as number, gated.gate as string]]
      }
    ],
    targets,
    notes
  }
}
