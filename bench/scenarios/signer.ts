// Scenario 5: signatures per second, ours (node:crypto) against the official @volcengine/openapi Signer
// (crypto-js), on the same requests: a small JSON body and a real CVProcess body with a ~100 KB image.
import { performance } from 'node:perf_hooks'
import { Signer } from '@volcengine/openapi'
import { signRequest } from '../../src/upstream/sign.js'
import { fittingJpeg } from '../fixtures.js'
import type { BenchContext } from '../launch.js'
import type { ScenarioResult } from '../report.js'
import { median, ratio, round } from '../stats.js'
import type { Sizes } from '../sizes.js'

const CREDENTIALS = { accessKeyId: 'AKLTbenchmark', secretAccessKey: 'benchmark-secret' }
const QUERY = { Action: 'CVProcess', Version: '2022-08-31' }
const HOST = 'visual.volcengineapi.com'

function ours (body: string): string {
  const input = { method: 'POST', host: HOST, path: '/', query: QUERY, contentType: 'application/json', body }
  return signRequest({ ...input, date: new Date(), region: 'cn-north-1', service: 'cv', credentials: CREDENTIALS }).authorization as string
}

function official (body: string): string {
  const headers = { 'Content-Type': 'application/json', Host: HOST }
  const signer = new Signer({ region: 'cn-north-1', method: 'POST', pathname: '/', params: { ...QUERY }, headers, body }, 'cv')
  signer.addAuthorization({ accessKeyId: CREDENTIALS.accessKeyId, secretKey: CREDENTIALS.secretAccessKey }, new Date())
  return (signer.request.headers as Record<string, string>).Authorization as string
}

/** Signatures per second over `ms` of signing the same body again and again. */
function rate (sign: (body: string) => string, body: string, ms: number): number {
  let count = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    for (let i = 0; i < 10; i++) sign(body)
    count += 10
    elapsed = performance.now() - started
  }
  return count / (elapsed / 1000)
}

export async function signerScenario (context: BenchContext, sizes: Sizes['signer']): Promise<ScenarioResult> {
  const image = await fittingJpeg()
  const bodies = {
    'small JSON (1 KB)': JSON.stringify({ req_key: 'img2img_pastel_boys_style_usage', prompt: 'x'.repeat(1000) }),
    [`CVProcess body with a ${Math.round(image.length / 1000)} KB image`]: JSON.stringify({ req_key: 'img2img_pastel_boys_style_usage', binary_data_base64: [image.toString('base64')] })
  }
  const data: Record<string, unknown> = {}
  const rows: Array<Array<string | number>> = []
  let smallestRatio = Infinity
  for (const [name, body] of Object.entries(bodies)) {
    // sanity: both produce a signature over this body
    if (!/Signature=[0-9a-f]{64}$/.test(ours(body)) || !/Signature=[0-9a-f]{64}$/.test(official(body))) throw new Error('a signer produced no signature')
    const oursRates: number[] = []
    const officialRates: number[] = []
    const perRound = Math.max(20, sizes.msPerRound)
    rate(ours, body, perRound / 4)
    rate(official, body, perRound / 4)
    for (let round = 0; round < sizes.rounds; round++) {
      oursRates.push(rate(ours, body, perRound))
      officialRates.push(rate(official, body, perRound))
    }
    const figures = {
      bodyBytes: body.length,
      oursPerSecond: round(median(oursRates), 0),
      officialPerSecond: round(median(officialRates), 0),
      speedup: ratio(median(oursRates), median(officialRates))
    }
    smallestRatio = Math.min(smallestRatio, figures.speedup)
    data[name] = figures
    rows.push([name, figures.bodyBytes, figures.oursPerSecond, figures.officialPerSecond, figures.speedup])
    context.note(`signer: ${name}: ours ${figures.oursPerSecond}/s, official ${figures.officialPerSecond}/s`)
  }
  return {
    title: '5. Signer',
    data,
    tables: [{ headers: ['request', 'body bytes', 'ours, signatures/s', '@volcengine/openapi, signatures/s', 'ours / official'], rows }],
    targets: [{ name: 'ours faster than the official Signer', goal: '> 1x on every request', measured: `${smallestRatio}x at the least`, met: smallestRatio > 1 }],
    notes: [`Medians of ${sizes.rounds} alternating rounds of ${sizes.msPerRound} ms each, in this process. Both sign the body hash; ours with node:crypto, the SDK with crypto-js.`]
  }
}
