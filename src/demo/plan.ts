/**
 * The demo estate's cast and story: five teams, their namespaces and workloads, what is wrong with each
 * on day 0, and when it gets fixed, excepted or broken again. Days are on a 30-day scale (0 = a month
 * ago, 29 = today). A defect without a fix day is fixed when its team's pace says (see timeline.ts).
 */

export type Defect =
  // containers
  | 'latest-tag'
  | 'no-limits'
  | 'no-requests'
  | 'no-probes'
  | 'no-hardening'
  | 'no-seccomp'
  | 'writable-root'
  | 'privileged'
  | 'run-as-root'
  | 'net-admin'
  | 'creds-in-env'
  // pods
  | 'host-network'
  | 'host-pid'
  | 'host-path'
  | 'writable-host-mount'
  | 'docker-socket'
  | 'host-port'
  | 'default-sa'
  // workloads and what goes with them
  | 'single-replica'
  | 'no-pdb'
  | 'no-spread'
  | 'no-deadline'
  | 'no-ttl'
  | 'hpa-min-1'
  | 'old-api'
  | 'service-typo'
  | 'load-balancer'
  | 'ingress-no-tls'
  // namespaces and RBAC
  | 'no-netpol'
  | 'cluster-admin'
  | 'wildcard-role'
  | 'secrets-read'

export interface DefectPlan {
  defect: Defect
  /** the day it is fixed; 'never'; or, when absent, a day drawn from the team's pace */
  fix?: number | 'never'
  /** a regression: the fix is undone on the first day and redone on the second (absent: never) */
  back?: readonly [number, number?]
}

/** A `plimsoll.dev/except.<check>` annotation added on a day, with its `.owner` and `.expires` ones. */
export interface ExceptionPlan {
  checks: readonly string[]
  on: number
  reason: string
  /** absent: the old form, which the scan warns about */
  owner?: string
  /** days after the demo's last day that it expires */
  expiresIn?: number
}

/** An exception of the store's register (`/debt`), added by someone with an admin token. */
export interface RegisterPlan {
  checks: readonly string[]
  kinds: readonly string[]
  namespaces: readonly string[]
  names: readonly string[]
  owner: string
  reason: string
  /** the name of the token that added it */
  createdBy: string
  /** the first day whose scans apply it (it was added the afternoon before) */
  on: number
  /** days after the demo's last day that it expires; negative: it has expired */
  expiresIn: number
}

export type UnitKind =
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'CronJob'
  | 'Job'
  | 'Pod'
  | 'Service'
  | 'Role'
  | 'ClusterRoleBinding'

/** One file's worth: a workload with its account, Service, Ingress, budget and autoscaler; or an RBAC object. */
export interface UnitPlan {
  kind: UnitKind
  name: string
  /** absent for cluster-scoped units */
  namespace?: string
  image?: string
  version?: string
  port?: number
  /** the port's name; `http` gets HTTP probes, others TCP probes */
  portName?: string
  replicas?: number
  /** an Ingress for this host */
  ingress?: string
  /** a HorizontalPodAutoscaler up to this many replicas */
  hpa?: number
  schedule?: string
  /** the host path `host-path` mounts */
  hostPath?: string
  /** the RBAC subject (a ServiceAccount `ns/name`, or a Group) */
  subject?: string
  /** days [from, to) on which it exists; default: every day */
  present?: readonly (readonly [number, number])[]
  defects?: readonly (Defect | DefectPlan)[]
  exceptions?: readonly ExceptionPlan[]
}

export interface NamespacePlan {
  name: string
  defects?: readonly (Defect | DefectPlan)[]
}

/** How a team pays down debt: a share of its defects, fixed on days spread over [start, end]. */
export interface Pace {
  start: number
  end: number
  share: number
}

export interface TeamPlan {
  name: string
  pace: Pace
  namespaces: readonly NamespacePlan[]
  units: readonly UnitPlan[]
}

export const MODEL_DAYS = 30

export const TEAMS: readonly TeamPlan[] = [
  {
    // A security sprint early in the month: nearly everything fixed by day 17.
    name: 'payments',
    pace: { start: 2, end: 17, share: 0.9 },
    namespaces: [{ name: 'payments' }, { name: 'payments-batch', defects: ['no-netpol'] }],
    units: [
      {
        kind: 'Deployment',
        name: 'api',
        namespace: 'payments',
        image: 'registry.example.com/payments/api',
        version: '2.14.1',
        port: 8080,
        replicas: 3,
        ingress: 'api.payments.example.com',
        hpa: 10,
        // A hotfix on day 19 drops the limits again; put back on day 22.
        defects: [{ defect: 'no-limits', fix: 6, back: [19, 22] }, 'creds-in-env', 'no-spread'],
      },
      {
        kind: 'StatefulSet',
        name: 'ledger',
        namespace: 'payments',
        image: 'registry.example.com/payments/ledger',
        version: '5.2.0',
        port: 5432,
        portName: 'postgres',
        replicas: 3,
        defects: ['run-as-root', 'no-pdb', 'writable-root'],
      },
      {
        kind: 'Deployment',
        name: 'fraud-scorer',
        namespace: 'payments',
        image: 'registry.example.com/payments/fraud-scorer',
        version: '1.3.0',
        port: 9000,
        replicas: 2,
        hpa: 6,
        defects: ['no-hardening', 'latest-tag', 'no-pdb', 'hpa-min-1'],
      },
      {
        kind: 'CronJob',
        name: 'settlement',
        namespace: 'payments-batch',
        image: 'registry.example.com/payments/settlement',
        version: '0.9.4',
        schedule: '30 1 * * *',
        defects: ['no-deadline', 'default-sa', 'no-hardening'],
      },
      {
        kind: 'Job',
        name: 'ledger-migrate',
        namespace: 'payments-batch',
        image: 'registry.example.com/payments/ledger-migrations',
        version: '5.2.0',
        defects: ['no-ttl', 'no-limits'],
      },
    ],
  },
  {
    // Steady, all month long; one fix reverted by a rollback.
    name: 'shop',
    pace: { start: 4, end: 28, share: 0.7 },
    namespaces: [{ name: 'shop' }],
    units: [
      {
        kind: 'Deployment',
        name: 'frontend',
        namespace: 'shop',
        image: 'registry.example.com/shop/frontend',
        version: '4.2.0',
        port: 8080,
        replicas: 3,
        ingress: 'shop.example.com',
        hpa: 12,
        defects: ['ingress-no-tls'],
      },
      {
        kind: 'Deployment',
        name: 'cart',
        namespace: 'shop',
        image: 'registry.example.com/shop/cart',
        version: '3.1.2',
        port: 8080,
        replicas: 2,
        // Pinned on day 8, unpinned by a rollback on day 16, pinned again on day 24.
        defects: [
          { defect: 'latest-tag', fix: 8, back: [16, 24] },
          'no-hardening',
          'default-sa',
          'no-probes',
          'no-pdb',
        ],
      },
      {
        kind: 'Deployment',
        name: 'checkout',
        namespace: 'shop',
        image: 'registry.example.com/shop/checkout',
        version: '1.9.0',
        port: 8080,
        replicas: 2,
        defects: [{ defect: 'run-as-root', fix: 'never' }],
        exceptions: [
          {
            checks: ['pss-run-as-user', 'pss-run-as-non-root'],
            on: 10,
            reason: 'the receipts volume is owned by root until the storage migration (SHOP-1342)',
            owner: 'shop-team@example.com',
            expiresIn: 45,
          },
        ],
      },
      {
        kind: 'StatefulSet',
        name: 'redis',
        namespace: 'shop',
        image: 'redis',
        version: '7.2.5',
        port: 6379,
        portName: 'redis',
        replicas: 1,
        defects: [{ defect: 'net-admin', fix: 11 }, { defect: 'single-replica', fix: 'never' }, 'no-seccomp'],
      },
      {
        kind: 'CronJob',
        name: 'nightly-report',
        namespace: 'shop',
        image: 'registry.example.com/shop/sales-report',
        version: '2024.6.1',
        schedule: '0 3 * * *',
        defects: [{ defect: 'host-network', fix: 'never' }, 'no-deadline', 'no-hardening'],
        exceptions: [
          {
            checks: ['pss-host-namespaces'],
            on: 7,
            reason: "the warehouse database only accepts the nodes' addresses (SHOP-1502)",
            owner: 'shop-team@example.com',
            expiresIn: 20,
          },
        ],
      },
      {
        // A leftover of the retired recommender: selects pods that no longer exist. Deleted on day 13.
        kind: 'Service',
        name: 'recommendations',
        namespace: 'shop',
        port: 8080,
        present: [[0, 13]],
        defects: [{ defect: 'service-typo', fix: 'never' }],
      },
    ],
  },
  {
    // Starts late (after a release freeze), then moves fast; adds a new, bad workload mid-month.
    name: 'search',
    pace: { start: 12, end: 29, share: 0.6 },
    namespaces: [{ name: 'search', defects: ['no-netpol'] }],
    units: [
      {
        kind: 'Deployment',
        name: 'query-api',
        namespace: 'search',
        image: 'registry.example.com/search/query-api',
        version: '7.0.3',
        port: 8080,
        replicas: 3,
        ingress: 'search.example.com',
        hpa: 8,
        defects: ['no-limits', 'no-requests', 'no-pdb'],
      },
      {
        kind: 'Deployment',
        name: 'indexer',
        namespace: 'search',
        image: 'registry.example.com/search/indexer',
        version: '7.0.3',
        replicas: 2,
        defects: ['no-hardening', 'no-probes', 'latest-tag', 'no-spread'],
      },
      {
        kind: 'StatefulSet',
        name: 'opensearch',
        namespace: 'search',
        image: 'opensearchproject/opensearch',
        version: '2.15.0',
        port: 9200,
        replicas: 3,
        defects: ['privileged', 'no-pdb', 'run-as-root'],
      },
      {
        kind: 'CronJob',
        name: 'reindex',
        namespace: 'search',
        image: 'registry.example.com/search/indexer',
        version: '7.0.3',
        schedule: '0 */6 * * *',
        defects: ['no-deadline', 'default-sa'],
      },
      {
        // New on day 14, straight from a prototype; partly cleaned up, its GPU access excepted.
        kind: 'Deployment',
        name: 'ranker',
        namespace: 'search',
        image: 'registry.example.com/search/ranker',
        version: '0.4.0',
        port: 8080,
        replicas: 1,
        present: [[14, MODEL_DAYS]],
        defects: [
          { defect: 'privileged', fix: 'never' },
          { defect: 'latest-tag', fix: 23 },
          { defect: 'default-sa', fix: 23 },
          { defect: 'no-limits', fix: 26 },
          { defect: 'no-probes', fix: 26 },
          { defect: 'single-replica', fix: 'never' },
        ],
        exceptions: [
          {
            checks: ['pss-privileged', 'pss-privilege-escalation'],
            on: 20,
            reason: 'needs /dev/nvidia* until the GPU device plugin is rolled out (SRCH-221)',
            owner: 'search-team@example.com',
            expiresIn: 12,
          },
        ],
      },
      {
        kind: 'Role',
        name: 'indexer',
        namespace: 'search',
        subject: 'search/indexer',
        defects: [{ defect: 'secrets-read', fix: 'never' }],
      },
    ],
  },
  {
    // Slow: a small share fixed, late in the month.
    name: 'data',
    pace: { start: 15, end: 29, share: 0.35 },
    namespaces: [{ name: 'data-pipeline' }, { name: 'analytics', defects: ['no-netpol'] }],
    units: [
      {
        kind: 'Deployment',
        name: 'kafka-connect',
        namespace: 'data-pipeline',
        image: 'confluentinc/cp-kafka-connect',
        version: '7.6.1',
        port: 8083,
        replicas: 2,
        defects: ['no-hardening', 'creds-in-env', 'no-pdb'],
      },
      {
        kind: 'Deployment',
        name: 'airflow-scheduler',
        namespace: 'data-pipeline',
        image: 'apache/airflow',
        version: '2.9.2',
        replicas: 1,
        defects: ['single-replica', 'no-probes', 'latest-tag'],
      },
      {
        kind: 'StatefulSet',
        name: 'airflow-worker',
        namespace: 'data-pipeline',
        image: 'apache/airflow',
        version: '2.9.2',
        replicas: 2,
        defects: ['docker-socket', 'no-limits', 'no-spread'],
      },
      {
        kind: 'Role',
        name: 'airflow-worker',
        namespace: 'data-pipeline',
        subject: 'data-pipeline/airflow-worker',
        defects: ['wildcard-role'],
      },
      {
        kind: 'StatefulSet',
        name: 'postgres',
        namespace: 'analytics',
        image: 'postgres',
        version: '16.3',
        port: 5432,
        portName: 'postgres',
        replicas: 1,
        defects: [
          { defect: 'run-as-root', fix: 'never' },
          { defect: 'single-replica', fix: 'never' },
        ],
        exceptions: [
          {
            checks: ['pss-run-as-user', 'pss-run-as-non-root'],
            on: 9,
            reason: 'the upstream image initialises its data directory as root (DATA-77)',
            owner: 'data-team@example.com',
            expiresIn: 60,
          },
        ],
      },
      {
        kind: 'Deployment',
        name: 'metabase',
        namespace: 'analytics',
        image: 'metabase/metabase',
        version: 'v0.50.6',
        port: 3000,
        replicas: 2,
        ingress: 'metabase.internal.example.com',
        defects: ['ingress-no-tls', 'old-api', 'service-typo', 'no-limits'],
      },
      {
        kind: 'CronJob',
        name: 'export',
        namespace: 'analytics',
        image: 'registry.example.com/data/export',
        version: '1.12.0',
        schedule: '15 4 * * *',
        defects: ['no-deadline', 'default-sa', 'creds-in-env'],
      },
    ],
  },
  {
    // Node agents that need the host (excepted, not fixed), and a cluster-admin binding replaced mid-month.
    name: 'platform',
    pace: { start: 1, end: 24, share: 0.6 },
    namespaces: [{ name: 'monitoring' }, { name: 'ingress-nginx' }],
    units: [
      {
        kind: 'DaemonSet',
        name: 'node-exporter',
        namespace: 'monitoring',
        image: 'prom/node-exporter',
        version: 'v1.8.2',
        port: 9100,
        portName: 'metrics',
        hostPath: '/proc',
        defects: [
          { defect: 'host-network', fix: 'never' },
          { defect: 'host-pid', fix: 'never' },
          { defect: 'host-path', fix: 'never' },
          { defect: 'host-port', fix: 'never' },
        ],
        exceptions: [
          {
            checks: [
              'pss-host-namespaces',
              'pss-host-path-volumes',
              'pss-host-ports',
              'pss-volume-types',
              'sensitive-host-path',
            ],
            on: 4,
            reason: "node metrics come from the host's /proc and network (PLAT-88)",
            owner: 'platform-team@example.com',
            expiresIn: 120,
          },
        ],
      },
      {
        kind: 'DaemonSet',
        name: 'log-shipper',
        namespace: 'kube-system',
        image: 'fluent/fluent-bit',
        version: '3.1.9',
        hostPath: '/var/log',
        defects: [
          { defect: 'host-path', fix: 'never' },
          { defect: 'writable-host-mount', fix: 9 },
          { defect: 'privileged', fix: 14 },
          { defect: 'run-as-root', fix: 'never' },
        ],
        exceptions: [
          {
            checks: ['pss-host-path-volumes', 'pss-volume-types', 'pss-run-as-user', 'pss-run-as-non-root'],
            on: 6,
            reason: "reads every container's logs from the node (PLAT-90)",
            owner: 'platform-team@example.com',
            expiresIn: 90,
          },
        ],
      },
      {
        kind: 'Deployment',
        name: 'ingress-nginx-controller',
        namespace: 'ingress-nginx',
        image: 'registry.k8s.io/ingress-nginx/controller',
        version: 'v1.11.3',
        port: 8080,
        replicas: 2,
        defects: [{ defect: 'load-balancer', fix: 'never' }, 'no-pdb'],
        exceptions: [
          {
            checks: ['service-load-balancer'],
            on: 0,
            reason: "the cluster's public entry point (PLAT-12)",
            owner: 'platform-team@example.com',
            expiresIn: 180,
          },
        ],
      },
      {
        kind: 'StatefulSet',
        name: 'prometheus',
        namespace: 'monitoring',
        image: 'prom/prometheus',
        version: 'v2.53.1',
        port: 9090,
        replicas: 2,
        defects: ['no-pdb', 'no-limits'],
      },
      {
        kind: 'Deployment',
        name: 'grafana',
        namespace: 'monitoring',
        image: 'grafana/grafana',
        version: '11.1.3',
        port: 3000,
        replicas: 1,
        ingress: 'grafana.internal.example.com',
        defects: ['single-replica', 'latest-tag'],
      },
      {
        kind: 'ClusterRoleBinding',
        name: 'ci-deployer',
        subject: 'platform-ci/deployer',
        defects: [{ defect: 'cluster-admin', fix: 12 }],
      },
      {
        kind: 'ClusterRoleBinding',
        name: 'sre-break-glass',
        subject: 'group:sre-oncall',
        defects: [{ defect: 'cluster-admin', fix: 'never' }],
        exceptions: [
          {
            checks: ['rbac-cluster-admin-binding'],
            on: 5,
            reason: 'break-glass access for the on-call engineer; every use is audited (PLAT-31)',
          },
        ],
      },
    ],
  },
]

/**
 * What only the cluster shows: a debug pod someone started by hand with kubectl, deleted, and started
 * again a week later. Its team label says whose namespace it landed in.
 */
export const CLUSTER_ONLY: TeamPlan = {
  name: 'payments',
  pace: { start: 0, end: 0, share: 0 },
  namespaces: [],
  units: [
    {
      kind: 'Pod',
      name: 'debug-shell',
      namespace: 'payments',
      image: 'busybox',
      version: '1.36',
      present: [
        [17, 19],
        [25, 26],
      ],
      defects: [
        { defect: 'privileged', fix: 'never' },
        { defect: 'host-pid', fix: 'never' },
        { defect: 'latest-tag', fix: 'never' },
        { defect: 'default-sa', fix: 'never' },
      ],
    },
  ],
}

/**
 * The debt register, as the teams filled it in the dashboard during the month: two exceptions that
 * expire this week, one that expired three days ago (its finding is back), one long-lived, and one
 * stale (the Service it excepted was deleted on day 13).
 */
export const REGISTER: readonly RegisterPlan[] = [
  {
    checks: ['single-replica'],
    kinds: ['StatefulSet'],
    namespaces: ['shop'],
    names: ['redis'],
    owner: 'shop-team@example.com',
    reason: 'a cache: a restart costs a warm-up, not data; Sentinel comes with the April release (SHOP-1410)',
    createdBy: 'shop-lead',
    on: 11,
    expiresIn: 3,
  },
  {
    checks: ['single-replica'],
    kinds: ['Deployment'],
    namespaces: ['search'],
    names: ['ranker'],
    owner: 'search-team@example.com',
    reason: 'a prototype until the load test; scaled out with the GPU rollout (SRCH-230)',
    createdBy: 'search-lead',
    on: 21,
    expiresIn: 5,
  },
  {
    checks: ['rbac-secrets-read'],
    kinds: ['Role'],
    namespaces: ['search'],
    names: ['indexer'],
    owner: 'search-team@example.com',
    reason: "reads the index's TLS certificates until they move to CSI volumes (SRCH-198)",
    createdBy: 'search-lead',
    on: 6,
    expiresIn: 75,
  },
  {
    checks: ['single-replica'],
    kinds: ['StatefulSet'],
    namespaces: ['analytics'],
    names: ['postgres'],
    owner: 'data-team@example.com',
    reason: 'a single instance until the move to the managed database (DATA-80)',
    createdBy: 'data-lead',
    on: 5,
    expiresIn: -3,
  },
  {
    checks: ['service-selects-nothing'],
    kinds: ['Service'],
    namespaces: ['shop'],
    names: ['recommendations'],
    owner: 'shop-team@example.com',
    reason: 'the recommender is being retired; its Service goes with it (SHOP-1290)',
    createdBy: 'shop-lead',
    on: 3,
    expiresIn: 20,
  },
]
