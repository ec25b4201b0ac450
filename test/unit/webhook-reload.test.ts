/**
 * `webhook serve --enforcement` while it runs: the file changed in place (a mounted ConfigMap updated by
 * `enforce plan --apply-to` and `kubectl apply`) holds from the next review, and a file that no longer
 * loads is said and leaves the modes in force.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeCertificates } from '../../src/webhook/certificates.js'
import { stopped } from '../helpers/serve.js'
import { tempFiles } from '../helpers/temp-files.js'
import { until } from '../helpers/until.js'
import { postReview, webhookServe } from '../helpers/webhook.js'

const { dir, file } = tempFiles('plimsoll-webhook-reload-')
const config = (mode: string) => `apiVersion: plimsoll.dev/v1alpha1
kind: EnforcementConfig
metadata:
  name: reload
spec:
  defaultMode: warn
  rules:
    - name: privileged
      checks: [pss-privileged]
      mode: ${mode}
`
let child: ChildProcess | undefined

afterAll(async () => {
  if (child) await stopped(child)
})

const privilegedPod = {
  uid: 'u-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  name: 'p',
  namespace: 'shop',
  operation: 'CREATE',
  userInfo: { username: 'alice', groups: ['dev'] },
  object: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop' },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
  },
  oldObject: null,
  dryRun: false,
}

describe('webhook serve --enforcement, changed while it runs', () => {
  it('applies the new modes from the next review, and keeps them when the file breaks', async () => {
    const certs = writeCertificates({
      dir: join(dir, 'certs'),
      service: 'plimsoll-webhook',
      namespace: 'plimsoll',
      extraNames: ['127.0.0.1'],
    })
    const enforcement = file('enforcement.yaml', config('warn'))
    const started = await webhookServe(certs, ['--enforcement', enforcement, '--reload-seconds', '0.2'])
    child = started.child
    const said = started.said
    const allowed = async () =>
      (await postReview(started.url, certs.caFile, privilegedPod)).body.response?.allowed
    expect(await allowed()).toBe(true)

    writeFileSync(enforcement, config('enforce'))
    await until('the new mode holds', async () => ((await allowed()) === false ? true : undefined))
    expect(said()).toMatch(/enforcement: .*enforcement\.yaml reloaded: default mode warn, 1 rule/)

    writeFileSync(enforcement, config('deny'))
    await until('the broken file said', async () => (/does not load/.test(said()) ? true : undefined))
    expect(said()).toMatch(
      /enforcement\.yaml:\d+: spec\.rules\[0\]\.mode: expected one of enforce, warn, audit, off, got 'deny'/,
    )
    expect(await allowed()).toBe(false)
  })
})
