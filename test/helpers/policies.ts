/** Policies of other engines that tests load, written where a test asks. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dump } from 'js-yaml'

/**
 * A Kyverno ClusterPolicy that applies only in namespaces labelled env=prod: ConfigMaps there need an
 * `owner` label. Written to `dir`; returns its path.
 */
export function prodNeedsOwnerPolicy(dir: string): string {
  const path = join(dir, 'prod-needs-owner.yaml')
  writeFileSync(
    path,
    dump({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'prod-needs-owner' },
      spec: {
        rules: [
          {
            name: 'owner-label',
            match: {
              any: [
                { resources: { kinds: ['ConfigMap'], namespaceSelector: { matchLabels: { env: 'prod' } } } },
              ],
            },
            validate: {
              message: 'an owner label is required in prod',
              pattern: { metadata: { labels: { owner: '?*' } } },
            },
          },
        ],
      },
    }),
  )
  return path
}
