// /docs in Debian's Chromium: swagger-ui renders the document under its Content-Security-Policy, with no
// blocked resource and no script error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'

const CHROMIUM = '/usr/bin/chromium'

if (!existsSync(CHROMIUM) && process.env.CI === undefined) {
  t.test('/docs in Chromium', { skip: `${CHROMIUM} is missing (apt-get install chromium); CI always runs this` }, () => {})
} else {
  t.test('/docs renders every operation of the document, nothing blocked', async (t) => {
    const upstream = await startRecordingUpstream(t)
    const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0' } })
    const profile = mkdtempSync(join(tmpdir(), 'stylize-chromium-docs-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']
    })
    t.teardown(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
    const page = await context.newPage()
    page.setDefaultTimeout(30_000)
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
    page.on('requestfailed', (failed) => problems.push(`request failed: ${failed.url()}`))

    const response = await page.goto(`${proxy.url}/docs`)
    t.equal(response?.status(), 200)
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'stylize-proxy' }).waitFor()
    await page.locator('#operations-stylize-stylize').waitFor()
    for (const id of ['stylize-listPresets', 'operations-liveness', 'operations-readiness', 'operations-metrics']) {
      t.equal(await page.locator(`[id$="${id.replace(/^operations-/, '')}"]`).count() > 0, true, `${id} is shown`)
    }
    // opening an operation renders its schemas and examples (the generated request schema included)
    await page.locator('#operations-stylize-stylize .opblock-summary').click()
    await page.locator('#operations-stylize-stylize .responses-wrapper').waitFor()
    t.same(problems, [], 'no script error, no blocked or failed resource')
  })
}
