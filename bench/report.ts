// The summary every run writes: JSON for machines and the test, Markdown for people and BENCHMARKS.md.
import type { Machine } from './machine.js'
import type { Mode } from './sizes.js'

export interface Target {
  name: string
  /** the goal, in words: "<= 2 ms" */
  goal: string
  /** what was measured, in words */
  measured: string
  /** null: could not be measured in this run (say why in the notes) */
  met: boolean | null
}

export interface Table {
  headers: string[]
  rows: Array<Array<string | number>>
}

export interface ScenarioResult {
  title: string
  /** every figure, as numbers */
  data: Record<string, unknown>
  tables: Table[]
  targets: Target[]
  notes: string[]
  durationMs?: number
  error?: string
}

export interface Summary {
  mode: Mode
  startedAt: string
  finishedAt: string
  machine: Machine
  scenarios: Record<string, ScenarioResult>
}

function table ({ headers, rows }: Table): string {
  const line = (cells: Array<string | number>): string => `| ${cells.map(String).join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

function mark (met: boolean | null): string {
  if (met === null) return 'not measured'
  return met ? 'met' : '**not met**'
}

export function renderMarkdown (summary: Summary): string {
  const m = summary.machine
  const lines = [
    `Run: \`${summary.mode}\` mode, ${summary.startedAt} to ${summary.finishedAt}` +
      (summary.mode === 'full' ? '' : ' (short run: indicative only, noisy)'),
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.platform}; ` +
      `load average at start ${m.loadAverage.join(' / ')} (the cores are shared with other work)`,
    ''
  ]
  for (const result of Object.values(summary.scenarios)) {
    lines.push(`### ${result.title}`, '')
    if (result.error !== undefined) lines.push(`Failed: \`${result.error}\``, '')
    for (const t of result.tables) lines.push(table(t), '')
    if (result.targets.length > 0) {
      lines.push(table({
        headers: ['target', 'goal', 'measured', 'verdict'],
        rows: result.targets.map((t) => [t.name, t.goal, t.measured, mark(t.met)])
      }), '')
    }
    for (const note of result.notes) lines.push(`- ${note}`)
    if (result.notes.length > 0) lines.push('')
  }
  return lines.join('\n')
}

export const RESULTS_START = '<!-- bench:results:start -->'
export const RESULTS_END = '<!-- bench:results:end -->'

/** BENCHMARKS.md with its results block replaced (the rest of the file is written by hand). */
export function withResults (document: string, markdown: string): string {
  const start = document.indexOf(RESULTS_START)
  const end = document.indexOf(RESULTS_END)
  const block = `${RESULTS_START}\n${markdown}\n${RESULTS_END}`
  if (start === -1 || end === -1 || end < start) return `${document.trimEnd()}\n\n## Latest results\n\n${block}\n`
  return document.slice(0, start) + block + document.slice(end + RESULTS_END.length)
}
