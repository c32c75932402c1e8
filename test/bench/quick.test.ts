// The benchmark harness works end to end: a tiny run (`--smoke`: every scenario at toy sizes) writes a
// summary with every scenario, each with numbers and target verdicts. No figure is asserted: the numbers
// of a shared 2-core machine say nothing here; `npm run bench` is where they count.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { test } from 'tap'

// A whole pass of every scenario, child processes included: slow on a busy machine, well past tap's default.
t.setTimeout(360_000)

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCENARIOS = ['overhead', 'pipeline', 'inFlight', 'arrivals', 'soak', 'signer']

interface Summary {
  mode: string
  machine: { cpuModel: string, cores: number, memoryGiB: number, node: string }
  scenarios: Record<string, { title: string, data: Record<string, unknown>, targets: Array<{ name: string, met: boolean | null }>, error?: string }>
}

function numbersIn (value: unknown): number[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [value] : []
  if (value === null || typeof value !== 'object') return []
  return Object.values(value).flatMap(numbersIn)
}

async function runBench (out: string): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stderr }
}

test('npm run bench --smoke: every scenario reports numbers and verdicts', { timeout: 300_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'stylize-bench-'))
  const { code, stderr } = await runBench(out)
  t.equal(code, 0, 'the run exits 0', { stderr: stderr.slice(-3000) })
  t.ok(existsSync(join(out, 'latest.md')), 'the Markdown summary is written')

  const summary = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Summary
  t.equal(summary.mode, 'smoke')
  t.ok(summary.machine.cores > 0 && summary.machine.memoryGiB > 0, 'the machine is recorded')
  t.match(summary.machine.node, /^v\d+/)
  t.same(Object.keys(summary.scenarios), SCENARIOS, 'every scenario ran, in order')
  for (const name of SCENARIOS) {
    const result = summary.scenarios[name]
    t.equal(result?.error, undefined, `${name} did not fail`)
    t.ok(numbersIn(result?.data).length >= 3, `${name} has numbers`)
    t.ok((result?.targets.length ?? 0) > 0, `${name} judges its targets`)
    for (const target of result?.targets ?? []) t.ok([true, false, null].includes(target.met), `${name}: ${target.name} has a verdict`)
  }
  const markdown = readFileSync(join(out, 'latest.md'), 'utf8')
  for (const result of Object.values(summary.scenarios)) t.ok(markdown.includes(result.title), `the Markdown has "${result.title}"`)
})
