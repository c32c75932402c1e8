// `npm run bench [-- --quick | --smoke] [--only overhead,signer] [--out DIR] [--record] [--profile] [--proxy-env NAME=VALUE ...]`
// Runs the scenarios on loopback, prints each one's numbers, writes <out>/latest.json and <out>/latest.md,
// and with --record (implied by a full run) puts the Markdown into BENCHMARKS.md.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { useImageCache } from './fixtures.js'
import { assertBuilt, type BenchContext } from './launch.js'
import { describeMachine } from './machine.js'
import { ROOT } from './processes.js'
import { renderMarkdown, withResults, type ScenarioResult, type Summary } from './report.js'
import { arrivalsScenario } from './scenarios/arrivals.js'
import { inFlightScenario } from './scenarios/in-flight.js'
import { overheadScenario } from './scenarios/overhead.js'
import { pipelineScenario } from './scenarios/pipeline.js'
import { signerScenario } from './scenarios/signer.js'
import { soakScenario } from './scenarios/soak.js'
import { SIZES, type Mode } from './sizes.js'

export const SCENARIOS = ['overhead', 'pipeline', 'inFlight', 'arrivals', 'soak', 'signer'] as const

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    record: { type: 'boolean' },
    profile: { type: 'boolean', default: false },
    'proxy-env': { type: 'string', multiple: true }
  }
})

const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full'
const sizes = SIZES[mode]
const only = values.only?.split(',').map((name) => name.trim())
const outDir = resolve(values.out ?? join(ROOT, 'bench', 'results'))
const workDir = join(outDir, 'work')
mkdirSync(workDir, { recursive: true })
// a partial run (--only) never replaces the full results in BENCHMARKS.md unless asked
const record = values.record ?? (mode === 'full' && only === undefined)

assertBuilt()
useImageCache(join(workDir, 'images'))
const context: BenchContext = {
  workDir,
  note: (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  proxyEnv: Object.fromEntries((values['proxy-env'] ?? []).map((pair) => {
    const at = pair.indexOf('=')
    if (at < 1) throw new Error(`--proxy-env takes NAME=VALUE, not "${pair}"`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}

const runners: Record<typeof SCENARIOS[number], () => Promise<ScenarioResult>> = {
  overhead: async () => await overheadScenario(context, sizes.overhead, { profile: values.profile }),
  pipeline: async () => await pipelineScenario(context, sizes.pipeline),
  inFlight: async () => await inFlightScenario(context, sizes.inFlight),
  arrivals: async () => await arrivalsScenario(context, sizes.arrivals, { profile: values.profile }),
  soak: async () => await soakScenario(context, sizes.soak),
  signer: async () => await signerScenario(context, sizes.signer)
}

const summary: Summary = { mode, startedAt: new Date().toISOString(), finishedAt: '', machine: describeMachine(), scenarios: {} }
let failed = false
for (const name of SCENARIOS) {
  if (only !== undefined && !only.includes(name)) continue
  const load1 = Math.round(loadavg()[0] as number * 100) / 100
  context.note(`${name}: starting (${mode}, load average ${load1})`)
  const started = performance.now()
  try {
    const result = await runners[name]()
    // the machine's load when the scenario began: a busy neighbour explains a bad figure
    result.notes.push(`Load average (1 min) when this scenario started: ${load1} on ${summary.machine.cores} cores.`)
    const tried = Object.entries(context.proxyEnv ?? {}).map(([name, value]) => `${name}=${value}`)
    if (tried.length > 0) result.notes.push(`Every proxy of this run was started with ${tried.join(' ')} (--proxy-env).`)
    summary.scenarios[name] = { ...result, durationMs: Math.round(performance.now() - started) }
  } catch (error) {
    failed = true
    context.note(`${name}: FAILED: ${(error as Error).stack ?? String(error)}`)
    summary.scenarios[name] = { title: name, data: {}, tables: [], targets: [], notes: [], error: (error as Error).message, durationMs: Math.round(performance.now() - started) }
  }
}
summary.finishedAt = new Date().toISOString()

const markdown = renderMarkdown(summary)
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(summary, null, 2) + '\n')
writeFileSync(join(outDir, 'latest.md'), markdown + '\n')
if (record) {
  const path = join(ROOT, 'BENCHMARKS.md')
  writeFileSync(path, withResults(existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n', markdown))
}
process.stdout.write(markdown + '\n')
context.note(`wrote ${join(outDir, 'latest.json')}${record ? ' and BENCHMARKS.md' : ''}`)
process.exitCode = failed ? 1 : 0
