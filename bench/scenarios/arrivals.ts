// Scenario 6: photos arriving faster than the cores can prepare them. Clients arrive evenly (an open loop),
// each posting a 1200x1600 JPEG as JSON base64; the upstream answers after 7 s; the gate is wide open, so
// only the proxy's own admission of image work stands between the arrivals and the cores. First the
// sustainable rate is measured (a closed loop against an instant upstream); then each arrival rate, and the
// highest again with clients that send `Expect: 100-continue`.
import { join, relative } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { sharp } from '../../src/image/sharp-setup.js'
import { summariseProfile } from '../cpu-profile.js'
import { photo } from '../../test/fixtures/harness.js'
import { jsonRequest, writeUpstreamReply } from '../fixtures.js'
import { proxyLoggedMs, startNaiveProcess, startProxyProcess, startUpstreamProcess, stopAll, type BenchContext } from '../launch.js'
import { closedLoop, statusCounts, steadyRate } from '../load.js'
import { ROOT, type ChildServer } from '../processes.js'
import type { ScenarioResult, Target } from '../report.js'
import { distribution, MIB, round } from '../stats.js'
import type { Sizes } from '../sizes.js'

const GATE_OPEN = { UPSTREAM_CONCURRENCY: '10000', UPSTREAM_QUEUE_MAX: '1000000', UPSTREAM_QUEUE_TIMEOUT_MS: '600000' }

export async function arrivalsScenario (context: BenchContext, sizes: Sizes['arrivals'], options: { profile: boolean } = { profile: false }): Promise<ScenarioResult> {
  const jpeg = await sharp(await photo(sizes.width, sizes.height, { quality: 85 })).jpeg({ quality: 85 }).toBuffer()
  const request = jsonRequest({ image_base64: jpeg.toString('base64') }, 'JSON base64')
  const reply = writeUpstreamReply(context.workDir, await photo(704, 939))
  const targets: Target[] = []
  const notes: string[] = [`Each client posts a ${sizes.width}x${sizes.height} JPEG of ${round(jpeg.length / 1024, 0)} KB as JSON base64.`]
  const data: Record<string, unknown> = {}

  // the sustainable rate: as many photos as the proxy prepares and sends per second, nothing waiting upstream
  let upstream: ChildServer | undefined
  let proxy: ChildServer | undefined
  let sustainable = 0
  try {
    upstream = await startUpstreamProcess(context, 'arrivals-instant-upstream', reply.path, 0)
    // no admission bound here: what the cores do when every photo is let in, nothing refused
    proxy = await startProxyProcess(context, 'arrivals-sustainable-proxy', upstream.url, { ...GATE_OPEN, IMAGE_WORK_MAX: '100000' })
    const loop = await closedLoop(proxy.url, 16, sizes.durationMs, () => request)
    const ok = loop.outcomes.filter((o) => o.status === 200).length
    sustainable = ok / (loop.wallMs / 1000)
    data.sustainable = { perSecond: round(sustainable, 1), statuses: statusCounts(loop.outcomes) }
  } finally {
    await stopAll(proxy, upstream)
  }

  // the baseline of the lowest rate: a naive signing proxy (no image work, no keys or limits) at that rate
  const baselineRate = Math.min(...sizes.rates)
  const topRate = Math.max(...sizes.rates)
  let naiveAddedP50 = 0
  let naive: ChildServer | undefined
  try {
    upstream = await startUpstreamProcess(context, 'arrivals-naive-upstream', reply.path, sizes.upstreamLatencyMs)
    naive = await startNaiveProcess(context, 'arrivals-naive', upstream.url)
    const result = await steadyRate(naive.url, baselineRate, sizes.durationMs, () => request, 8192)
    const added = distribution(result.outcomes.filter((o) => o.status === 200).map((o) => o.ms - sizes.upstreamLatencyMs))
    naiveAddedP50 = added.p50
    data.naive = { rate: baselineRate, statuses: statusCounts(result.outcomes), addedMs: added }
    notes.push(`A naive signing proxy (bench/servers/naive.ts: the photo's base64 sent as it is) at ${baselineRate}/s: added p50 / p99 ${added.p50} / ${added.p99} ms.`)
  } finally {
    await stopAll(naive, upstream)
  }

  // each rate with plain clients; the highest once more with clients that send Expect: 100-continue, whose
  // refused uploads are never sent
  const passes = [...sizes.rates.map((rate) => ({ rate, expectContinue: false })), { rate: topRate, expectContinue: true }]
  for (const { rate, expectContinue } of passes) {
    const name = expectContinue ? `${rate}/s (Expect: 100-continue)` : `${rate}/s`
    const label = expectContinue ? `${rate}-expect` : String(rate)
    try {
      upstream = await startUpstreamProcess(context, `arrivals-${label}-upstream`, reply.path, sizes.upstreamLatencyMs)
      proxy = await startProxyProcess(context, `arrivals-${label}-proxy`, upstream.url, GATE_OPEN)
      await proxy.reset()
      // the load generator's own event loop: a late client measures its own lateness, not the proxy's
      const runnerLag = monitorEventLoopDelay({ resolution: 10 })
      runnerLag.enable()
      // --profile: where the proxy's main thread goes at the highest rate (the event loop that refuses)
      const profileFile = options.profile && rate === topRate && !expectContinue ? join(context.workDir, `arrivals-${label}.cpuprofile`) : undefined
      if (profileFile !== undefined) await proxy.profileStart()
      const result = await steadyRate(proxy.url, rate, sizes.durationMs, () => ({ ...request, expectContinue }), 8192)
      runnerLag.disable()
      if (profileFile !== undefined) {
        await proxy.profileStop(profileFile)
        const summary = summariseProfile(profileFile)
        data[`${name} profile`] = summary
        notes.push(`${name}, the proxy's main thread (${relative(ROOT, profileFile)}): busy ${summary.busyPercent}%; by area ` +
          summary.byArea.slice(0, 8).map((share) => `${share.name} ${share.percent}%`).join(', ') + '.')
      }
      const probe = await proxy.sample()
      const ok = result.outcomes.filter((o) => o.status === 200)
      const refused = result.outcomes.filter((o) => o.status === 503)
      const other = result.outcomes.length - ok.length - refused.length
      const added = distribution(ok.map((o) => o.ms - sizes.upstreamLatencyMs))
      const refusedMs = distribution(refused.map((o) => o.ms))
      // the same refusals as the proxy timed them (its log: headers read to answer written), to tell its own
      // time from the connection's and the shared cores'
      const proxyRefusedMs = distribution(proxyLoggedMs(context, `arrivals-${label}-proxy`, 503))
      // over the time the answers took to come (less the upstream's own wait), not the arrivals' window
      const acceptedPerSecond = ok.length / (Math.max(sizes.durationMs, result.wallMs - sizes.upstreamLatencyMs) / 1000)
      const peakRssMiB = round(probe.peakRssBytes / MIB, 1)
      data[name] = {
        arrivals: result.outcomes.length,
        statuses: statusCounts(result.outcomes),
        addedMs: added,
        refusedMs,
        proxyRefusedMs,
        acceptedPerSecond: round(acceptedPerSecond, 1),
        wallMs: round(result.wallMs, 0),
        peakRssMiB,
        proxyCpuMs: round(probe.cpuMs, 0),
        lagMs: probe.lagMs,
        runnerLagMs: { p50: round(runnerLag.percentile(50) / 1e6, 1), p99: round(runnerLag.percentile(99) / 1e6, 1), max: round(runnerLag.max / 1e6, 1) }
      }
      targets.push({ name: `${name}: every request answered (200, or 503 with Retry-After)`, goal: '0 other', measured: `${ok.length} x 200, ${refused.length} x 503, ${other} other`, met: other === 0 })
      if (rate === baselineRate && !expectContinue) {
        // the 50/s: every photo served, at about the naive proxy's latency (a rate past the
        // sustainable one cannot be: some must be refused)
        const beyond = rate > sustainable ? ` (past the sustainable ${round(sustainable, 1)}/s)` : ''
        targets.push(
          { name: `${name}: all 200${beyond}`, goal: `${result.outcomes.length} x 200`, measured: `${ok.length} x 200`, met: ok.length === result.outcomes.length },
          { name: `${name}: added latency p50 against a naive signing proxy's`, goal: `< ${round(naiveAddedP50 + 20)} ms (naive + 20)`, measured: `${added.p50} ms`, met: added.p50 < naiveAddedP50 + 20 }
        )
      } else {
        targets.push(
          { name: `${name}: peak RSS`, goal: '< 512 MiB', measured: `${peakRssMiB} MiB`, met: peakRssMiB < 512 },
          { name: `${name}: refusals, p99`, goal: '< 50 ms', measured: refused.length === 0 ? 'none refused' : `${refusedMs.p99} ms over ${refused.length}`, met: refused.length === 0 || refusedMs.p99 < 50 },
          { name: `${name}: accepted requests' added latency, p50`, goal: '< 1000 ms', measured: `${added.p50} ms`, met: added.p50 < 1000 },
          { name: `${name}: accepted throughput`, goal: `>= 80% of ${round(sustainable, 1)}/s`, measured: `${round(acceptedPerSecond, 1)}/s`, met: acceptedPerSecond >= 0.8 * sustainable }
        )
      }
      notes.push(`${name}: refusals p50 / p90 / p99 ${refusedMs.p50} / ${refusedMs.p90} / ${refusedMs.p99} ms (in the proxy's own log ${proxyRefusedMs.p50} / ${proxyRefusedMs.p90} / ${proxyRefusedMs.p99} ms); event-loop delay p99 / max: the proxy's ${probe.lagMs.p99} / ${probe.lagMs.max} ms, the load generator's ${round(runnerLag.percentile(99) / 1e6, 1)} / ${round(runnerLag.max / 1e6, 1)} ms; the proxy's CPU ${round(probe.cpuMs / 1000, 1)} s.`)
      context.note(`arrivals ${name}: ${JSON.stringify(statusCounts(result.outcomes))}, added p50 ${added.p50} ms, peak RSS ${peakRssMiB} MiB`)
    } finally {
      await stopAll(proxy, upstream)
    }
  }
  notes.push(`Sustainable rate measured in this run: ${round(sustainable, 1)} photos/s (16 clients back to back, instant upstream).`)
  return { title: 'Photos faster than the cores: admission, memory, refusals', data, tables: [], targets, notes }
}
