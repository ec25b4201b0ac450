/**
 * The demo estate's image scans: a weekly import of a vulnerability scan of the cluster's images, so
 * that the Vulnerabilities page, the overview's counts and the maturity scorecard have a month of
 * history to show. Recorded through the real import path (importReport, recordImport), as
 * `plimsoll import` records a Trivy or Grype report.
 *
 * The demo's images are fictional (registry.example.com), and so are their vulnerabilities: the
 * advisories are named DEMO-YYYY-NNNN and the tool `demo`, so nobody mistakes them for a real scanner's
 * verdict on a real image. The tests read real reports of real tools (../shared/corpus/tool-reports).
 * Deterministic: the same days give the same scans.
 */
import type { FixState } from '../api-types.js'
import { importReport, recordImport } from '../import/record.js'
import type { ImportedFinding, ImportedReport } from '../import/types.js'
import type { Severity } from '../policy/check.js'
import type { Store } from '../store/connect.js'
import { CLUSTER_TARGET } from './estate.js'
import { TEAMS } from './plan.js'
import { seededRandom } from './prng.js'

/** Where the scans are recorded: beside the cluster's own target, as a target of its own. */
export const IMAGE_SCAN_TARGET = `${CLUSTER_TARGET}/images`

/** The weekly scans, in days before the last day: the first after the month's first assessment. */
const SCAN_DAYS = [27, 20, 13, 6, 0] as const

interface Advisory {
  id: string
  package: string
  packageType: string
  installed: string
  fixed?: string
  fixState: FixState
  severity: Severity
  title: string
}

/** Packages an image of the estate may carry, each with an advisory against its installed version. */
const ADVISORIES: readonly Advisory[] = [
  advisory(1041, 'openssl', 'apk', '3.1.4-r1', '3.1.4-r5', 'high', 'buffer over-read in X.509 name checks'),
  advisory(1077, 'zlib', 'apk', '1.2.13-r0', '1.3.1-r0', 'critical', 'heap overflow in inflate'),
  advisory(1102, 'busybox', 'apk', '1.36.1-r2', undefined, 'medium', 'use after free in awk'),
  advisory(1138, 'libcurl', 'apk', '8.4.0-r0', '8.5.0-r0', 'medium', 'cookie injection across domains'),
  advisory(1164, 'musl', 'apk', '1.2.4-r1', undefined, 'low', 'integer overflow in printf'),
  advisory(1209, 'golang.org/x/net', 'go-module', 'v0.17.0', 'v0.23.0', 'high', 'HTTP/2 CONTINUATION flood'),
  advisory(1233, 'stdlib', 'go-module', 'go1.21.3', 'go1.21.8', 'medium', 'net/mail address parsing'),
  advisory(1257, 'google.golang.org/grpc', 'go-module', 'v1.58.2', 'v1.58.3', 'high', 'rapid reset'),
  advisory(1290, 'jackson-databind', 'java-archive', '2.13.2', '2.13.4.2', 'high', 'deep nesting DoS'),
  advisory(1318, 'log4j-core', 'java-archive', '2.17.0', '2.17.1', 'medium', 'JDBC appender RCE'),
  advisory(1344, 'glibc', 'deb', '2.36-9', undefined, 'low', 'syslog heap overflow', 'wont-fix'),
  advisory(1372, 'requests', 'python', '2.28.1', '2.31.0', 'medium', 'proxy credentials leaked'),
  advisory(1405, 'urllib3', 'python', '1.26.12', '1.26.18', 'medium', 'cookie kept on redirect'),
  advisory(1433, 'express', 'npm', '4.18.1', '4.19.2', 'medium', 'open redirect'),
  advisory(1468, 'semver', 'npm', '7.3.7', '7.5.2', 'high', 'ReDoS in range parsing'),
]

function advisory(
  n: number,
  pkg: string,
  packageType: string,
  installed: string,
  fixed: string | undefined,
  severity: Severity,
  title: string,
  noFix: FixState = 'not-fixed',
): Advisory {
  return {
    id: `DEMO-2026-${n}`,
    package: pkg,
    packageType,
    installed,
    fixed,
    fixState: fixed ? 'fixed' : noFix,
    severity,
    title,
  }
}

/** Each image's advisories: when each appears and when the team patches it (scan index, or never). */
interface Exposure {
  advisory: Advisory
  from: number
  until: number
}

function exposures(images: readonly string[]): Map<string, Exposure[]> {
  const random = seededRandom(0x5eed_cafe)
  const out = new Map<string, Exposure[]>()
  for (const image of images) {
    const list: Exposure[] = []
    for (const a of ADVISORIES) {
      if (random() > 0.35) continue
      const from = random() < 0.7 ? 0 : 1 + Math.floor(random() * (SCAN_DAYS.length - 1))
      // Fixable ones are patched more often than not, but not all in time: some stay open all month.
      const patched = a.fixed !== undefined && random() < 0.6
      const until = patched ? from + 1 + Math.floor(random() * (SCAN_DAYS.length - from)) : SCAN_DAYS.length
      list.push({ advisory: a, from, until })
    }
    out.set(image, list)
  }
  return out
}

/** The estate's images, with the version each runs. */
export function demoImages(): string[] {
  const images = new Set<string>()
  for (const team of TEAMS)
    for (const unit of team.units)
      if (unit.image?.startsWith('registry.example.com/') && unit.version)
        images.add(`${unit.image}:${unit.version}`)
  return [...images].sort()
}

function finding(image: string, a: Advisory): ImportedFinding {
  const fix = a.fixed ? `fixed in ${a.fixed}` : a.fixState === 'wont-fix' ? "won't be fixed" : 'no fix yet'
  return {
    tool: 'demo',
    checkId: `demo:${a.id}`,
    title: `${a.package}: ${a.title}`,
    severity: a.severity,
    category: 'vulnerability',
    status: 'fail',
    message: `${a.id} in ${a.package} ${a.installed}: ${fix}`,
    resource: { apiVersion: '', kind: 'Image', name: image },
    path: `package ${a.packageType}/${a.package}`,
    vulnerability: {
      id: a.id,
      package: a.package,
      packageType: a.packageType,
      installedVersion: a.installed,
      ...(a.fixed ? { fixedVersion: a.fixed } : {}),
      fixState: a.fixState,
      aliases: [],
      artifact: image,
    },
  }
}

export interface VulnerabilitySeedSummary {
  /** imports recorded */
  scans: number
  images: number
  /** open after the last scan */
  open: number
  fixable: number
}

/**
 * Records the month's weekly scans, the last on the last day (`last`, ms: the day's scan time), an hour
 * before that day's cluster scan.
 */
export async function seedVulnerabilities(
  store: Store,
  options: { last: number; plimsollVersion: string },
): Promise<VulnerabilitySeedSummary> {
  const images = demoImages()
  const byImage = exposures(images)
  let open: ImportedFinding[] = []
  for (const [i, daysBefore] of SCAN_DAYS.entries()) {
    const findings = images.flatMap((image) =>
      (byImage.get(image) ?? [])
        .filter((e) => e.from <= i && i < e.until)
        .map((e) => finding(image, e.advisory)),
    )
    // The format is the shape the demo's records take (Grype's: advisory, package, fix state); the
    // tool is named for what it is.
    const report: ImportedReport = { format: 'grype', tools: [{ name: 'demo' }], findings }
    const at = new Date(options.last - daysBefore * 86_400_000 - 3_600_000)
    const recorded = importReport([{ file: 'demo-image-scan.json', report }], [], at)
    await recordImport(store, recorded, IMAGE_SCAN_TARGET, options.plimsollVersion)
    open = findings
  }
  return {
    scans: SCAN_DAYS.length,
    images: images.length,
    open: open.length,
    fixable: open.filter((f) => f.vulnerability?.fixState === 'fixed').length,
  }
}
