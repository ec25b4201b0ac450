/**
 * Plimsoll's own kubeconfig reading and credentials, as client-go's clientcmd and transport behave,
 * against the local control plane: $KUBECONFIG merging (first definition wins, paths relative to their
 * file), token files read again after a 401, exec credential plugins (the ExecCredential protocol:
 * KUBERNETES_EXEC_INFO, caching until expiry, a rerun after a 401, a client certificate), impersonation,
 * the pod's service account, and errors that name the file and what was expected.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dump } from 'js-yaml'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ApiClient, ApiError, loadKubeConfig } from '../../src/cluster/client.js'
import { type ControlPlane, startControlPlane } from '../../src/control-plane/server.js'

let cp: ControlPlane
let dir: string
const savedEnv = { ...process.env }

beforeAll(async () => {
  cp = await startControlPlane()
  dir = mkdtempSync(join(tmpdir(), 'plimsoll-kubeconfig-'))
  cp.user('reader', { rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] }] })
})

afterAll(async () => {
  await cp?.stop()
})

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k]
  Object.assign(process.env, savedEnv)
})

let files = 0
function write(doc: unknown, at = dir): string {
  const path = join(at, `config-${++files}.yaml`)
  writeFileSync(path, typeof doc === 'string' ? doc : dump(doc))
  return path
}

const caData = () => Buffer.from(cp.ca).toString('base64')

function config(
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'cp', cluster: { server: cp.url, 'certificate-authority-data': caData(), ...cluster } },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'cp', user: 'u' } }],
    'current-context': 'ctx',
  }
}

const listConfigMaps = (client: ApiClient) =>
  client.get<{ items: unknown[] }>('/api/v1/namespaces/default/configmaps')

/** An exec plugin: a Node script that answers with what `answer.json` holds and notes each run. */
function plugin(name: string): {
  command: string
  answer: (status: Record<string, unknown>, apiVersion?: string) => void
  runs: () => string[]
} {
  const home = join(dir, name)
  mkdirSync(home)
  const command = join(home, 'plugin.mjs')
  writeFileSync(
    command,
    `#!${process.execPath}
import { appendFileSync, readFileSync } from 'node:fs'
appendFileSync(${JSON.stringify(join(home, 'runs'))}, process.env.KUBERNETES_EXEC_INFO + '\\n')
process.stdout.write(readFileSync(${JSON.stringify(join(home, 'answer.json'))}, 'utf8'))
`,
  )
  chmodSync(command, 0o755)
  return {
    command,
    answer: (status, apiVersion = 'client.authentication.k8s.io/v1') =>
      writeFileSync(
        join(home, 'answer.json'),
        JSON.stringify({ apiVersion, kind: 'ExecCredential', status }),
      ),
    runs: () => {
      try {
        return readFileSync(join(home, 'runs'), 'utf8').trim().split('\n').filter(Boolean)
      } catch {
        return []
      }
    },
  }
}

describe('kubeconfig files, as clientcmd reads them', () => {
  it('merges $KUBECONFIG: the first file to name a context, cluster or user keeps it, the first current-context wins, missing files are skipped, paths are relative to their own file', async () => {
    const other = mkdtempSync(join(dir, 'other-'))
    writeFileSync(join(other, 'ca.pem'), cp.ca)
    const admin = cp.admin
    writeFileSync(join(other, 'admin.crt'), admin.cert)
    writeFileSync(join(other, 'admin.key'), admin.key)
    const first = write({
      apiVersion: 'v1',
      kind: 'Config',
      contexts: [{ name: 'main', context: { cluster: 'cp', user: 'admin' } }],
      'current-context': 'main',
    })
    const second = write(
      {
        apiVersion: 'v1',
        kind: 'Config',
        // relative paths: against this file's directory, not the working directory
        clusters: [{ name: 'cp', cluster: { server: cp.url, 'certificate-authority': 'ca.pem' } }],
        users: [{ name: 'admin', user: { 'client-certificate': 'admin.crt', 'client-key': 'admin.key' } }],
        contexts: [
          { name: 'main', context: { cluster: 'nowhere', user: 'nobody' } },
          { name: 'second', context: { cluster: 'cp', user: 'admin', namespace: 'kube-system' } },
        ],
        'current-context': 'second',
      },
      other,
    )
    process.env.KUBECONFIG = [first, join(dir, 'missing.yaml'), second].join(':')
    const main = loadKubeConfig()
    expect(main.contextName).toBe('main')
    expect(main.server).toBe(cp.url)
    expect((await listConfigMaps(new ApiClient(main))).items).toBeInstanceOf(Array)
    const chosen = loadKubeConfig({ context: 'second' })
    expect(chosen.namespace).toBe('kube-system')
  })

  it('says what is wrong, naming the file: no such context (listing those there are), bad YAML with its line, a missing user', () => {
    const path = write(config({ token: 'x' }))
    expect(() => loadKubeConfig({ kubeconfig: path, context: 'prod' })).toThrow(
      `no context 'prod' in kubeconfig ${path}; it has ctx`,
    )
    const broken = write('apiVersion: v1\nkind: Config\nclusters:\n  - name: a\n   cluster: {}\n')
    expect(() => loadKubeConfig({ kubeconfig: broken })).toThrow(
      new RegExp(`^kubeconfig ${broken}:5: not YAML`),
    )
    const noUser = write({ ...config({}), users: [] })
    expect(() => loadKubeConfig({ kubeconfig: noUser })).toThrow(
      `context 'ctx': no user 'u' in kubeconfig ${noUser}`,
    )
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'absent') })).toThrow('no such file')
  })

  it('refuses what it cannot honour rather than connect otherwise: proxy-url, an auth-provider, a CA with insecure-skip-tls-verify', () => {
    expect(() =>
      loadKubeConfig({ kubeconfig: write(config({ token: 'x' }, { 'proxy-url': 'http://proxy:3128' })) }),
    ).toThrow(/proxy-url, which Plimsoll does not support yet/)
    expect(() =>
      loadKubeConfig({ kubeconfig: write(config({ 'auth-provider': { name: 'gcp', config: {} } })) }),
    ).toThrow(/auth-provider 'gcp' is not supported .*gke-gcloud-auth-plugin/)
    expect(() =>
      loadKubeConfig({ kubeconfig: write(config({ token: 'x' }, { 'insecure-skip-tls-verify': true })) }),
    ).toThrow(/both insecure-skip-tls-verify and a certificate authority/)
  })

  it('checks the server against the CA given, and against nothing with insecure-skip-tls-verify', async () => {
    const token = cp.user('reader', {
      rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] }],
    }).token
    const wrongCa = write(
      config({ token }, { 'certificate-authority-data': Buffer.from(cp.admin.cert).toString('base64') }),
    )
    await expect(listConfigMaps(new ApiClient(loadKubeConfig({ kubeconfig: wrongCa })))).rejects.toThrow(
      ApiError,
    )
    const insecure = config({ token })
    delete (insecure.clusters as { cluster: Record<string, unknown> }[])[0]!.cluster[
      'certificate-authority-data'
    ]
    ;(insecure.clusters as { cluster: Record<string, unknown> }[])[0]!.cluster['insecure-skip-tls-verify'] =
      true
    expect(
      (await listConfigMaps(new ApiClient(loadKubeConfig({ kubeconfig: write(insecure) })))).items,
    ).toBeInstanceOf(Array)
  })
})

describe('credentials, as client-go applies them', () => {
  it('reads a tokenFile again after a 401 (a rotated token), and a fixed token is not retried', async () => {
    const tokenFile = join(dir, 'token')
    writeFileSync(
      tokenFile,
      `${cp.user('rotating', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }] }).token}\n`,
    )
    const client = new ApiClient(loadKubeConfig({ kubeconfig: write(config({ tokenFile: 'token' })) }))
    await listConfigMaps(client)
    // The control plane makes a new token for the user: the old one is refused from now on.
    writeFileSync(
      tokenFile,
      cp.user('rotating', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }] }).token,
    )
    expect((await listConfigMaps(client)).items).toBeInstanceOf(Array)

    const fixed = new ApiClient(loadKubeConfig({ kubeconfig: write(config({ token: 'not-a-token' })) }))
    await expect(listConfigMaps(fixed)).rejects.toMatchObject({ code: 401 })
  })

  it('impersonates the user, groups and uid the kubeconfig names (as, as-groups, as-uid)', async () => {
    cp.user('limited', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] })
    const admin = cp.admin
    const access = loadKubeConfig({
      kubeconfig: write(
        config({
          'client-certificate-data': Buffer.from(admin.cert).toString('base64'),
          'client-key-data': Buffer.from(admin.key).toString('base64'),
          as: 'limited',
          'as-groups': ['team-a', 'team-b'],
          'as-uid': '1234',
        }),
      ),
    })
    const signed = await access.credentials.sign()
    expect(signed.headers).toMatchObject({
      'Impersonate-User': 'limited',
      'Impersonate-Group': ['team-a', 'team-b'],
      'Impersonate-Uid': '1234',
    })
    const client = new ApiClient(access)
    await client.get('/api/v1/namespaces/default/pods')
    await expect(listConfigMaps(client)).rejects.toMatchObject({
      code: 403,
      message: expect.stringContaining('"limited"'),
    })
  })

  it('runs an exec plugin once for the requests its credential covers, tells it the cluster when asked, and runs it again after a 401', async () => {
    const p = plugin('token-plugin')
    const rules = [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }]
    p.answer({ token: cp.user('exec-user', { rules }).token })
    const access = loadKubeConfig({
      kubeconfig: write({
        ...config({
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: p.command,
            interactiveMode: 'Never',
            provideClusterInfo: true,
            env: [{ name: 'PLUGIN_FLAVOUR', value: 'test' }],
          },
        }),
      }),
    })
    const client = new ApiClient(access)
    await Promise.all([listConfigMaps(client), listConfigMaps(client)])
    await listConfigMaps(client)
    expect(p.runs()).toHaveLength(1)
    const info = JSON.parse(p.runs()[0]!)
    expect(info).toMatchObject({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1',
      spec: { interactive: false, cluster: { server: cp.url, 'certificate-authority-data': caData() } },
    })
    // A new token for the user: the cached one gets a 401, and the plugin is asked again.
    p.answer({ token: cp.user('exec-user', { rules }).token })
    await listConfigMaps(client)
    expect(p.runs()).toHaveLength(2)
  })

  it('asks an exec plugin again once its credential is about to expire, and takes a client certificate from it', async () => {
    const p = plugin('cert-plugin')
    const admin = cp.admin
    p.answer(
      {
        clientCertificateData: admin.cert,
        clientKeyData: admin.key,
        expirationTimestamp: new Date(Date.now() + 5000).toISOString(),
      },
      'client.authentication.k8s.io/v1beta1',
    )
    const client = new ApiClient(
      loadKubeConfig({
        kubeconfig: write(
          config({ exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: p.command } }),
        ),
      }),
    )
    await client.get('/api/v1/secrets')
    await client.get('/api/v1/secrets')
    // Five seconds left is inside the margin kept before expiry: each request asks again.
    expect(p.runs()).toHaveLength(2)
    expect(JSON.parse(p.runs()[0]!).spec).toEqual({ interactive: false })
  })

  it('says what is wrong with a plugin: not installed (with its installHint), an unsupported apiVersion, an answer that is not an ExecCredential', async () => {
    const missing = new ApiClient(
      loadKubeConfig({
        kubeconfig: write(
          config({
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: 'no-such-auth-plugin',
              interactiveMode: 'Never',
              installHint: 'Install it with: brew install no-such-auth-plugin',
            },
          }),
        ),
      }),
    )
    await expect(listConfigMaps(missing)).rejects.toThrow(
      /exec plugin 'no-such-auth-plugin' \(.*\): not found\. Install it with: brew install no-such-auth-plugin/,
    )
    const old = new ApiClient(
      loadKubeConfig({
        kubeconfig: write(
          config({ exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } }),
        ),
      }),
    )
    await expect(listConfigMaps(old)).rejects.toThrow(/v1alpha1 was removed in Kubernetes 1.24/)
    const p = plugin('wrong-plugin')
    p.answer({ token: 'x' }, 'client.authentication.k8s.io/v1beta1')
    const wrong = new ApiClient(
      loadKubeConfig({
        kubeconfig: write(
          config({
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: p.command,
              interactiveMode: 'IfAvailable',
            },
          }),
        ),
      }),
    )
    await expect(listConfigMaps(wrong)).rejects.toThrow(
      /answered client.authentication.k8s.io\/v1beta1 ExecCredential, expected an ExecCredential of client.authentication.k8s.io\/v1/,
    )
  })
})

describe('in a pod', () => {
  it("uses the pod's service account: KUBERNETES_SERVICE_HOST and _PORT, the mounted CA and token (read again as it rotates), its namespace", async () => {
    const sa = join(dir, 'serviceaccount')
    mkdirSync(sa)
    writeFileSync(join(sa, 'ca.crt'), cp.ca)
    writeFileSync(
      join(sa, 'token'),
      cp.user('pod-account', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }] })
        .token,
    )
    writeFileSync(join(sa, 'namespace'), 'plimsoll\n')
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1'
    process.env.KUBERNETES_SERVICE_PORT = String(cp.port)
    delete process.env.KUBECONFIG
    const access = loadKubeConfig({ serviceAccountDir: sa })
    expect(access).toMatchObject({
      contextName: 'in-cluster',
      server: `https://127.0.0.1:${cp.port}`,
      namespace: 'plimsoll',
    })
    const client = new ApiClient(access)
    await listConfigMaps(client)
    writeFileSync(
      join(sa, 'token'),
      cp.user('pod-account', { rules: [{ verbs: ['list'], apiGroups: [''], resources: ['configmaps'] }] })
        .token,
    )
    await listConfigMaps(client)

    delete process.env.KUBERNETES_SERVICE_PORT
    expect(() => loadKubeConfig({ inCluster: true, serviceAccountDir: sa })).toThrow(
      /is this running in a pod/,
    )
  })
})
