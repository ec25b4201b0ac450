// Types of simulated-agent.mjs, for the TypeScript tests that drive it with src/'s modules.

import type { Kysely } from 'kysely'
import type { Central, Unreachable } from '../../src/agent/central.js'
import type { RemoteWriter } from '../../src/agent/remote-writer.js'
import type { Backoff } from '../../src/cluster/backoff.js'
import type { LiveState, LiveTotals, ObjectChange } from '../../src/cluster/live-state.js'
import type { LiveRecorder } from '../../src/cluster/recorder.js'
import type { generateObjects } from '../../src/control-plane/seed-objects.js'
import type { Engine } from '../../src/policy/engine.js'
import type { Database } from '../../src/store/schema.js'

export interface AgentModules {
  LiveState: typeof LiveState
  generateObjects: typeof generateObjects
  LiveRecorder: typeof LiveRecorder
  RemoteWriter: typeof RemoteWriter
  Backoff: typeof Backoff
  Central: typeof Central
  Unreachable: typeof Unreachable
}

export interface EvaluatedCluster {
  cluster: string
  changes: ObjectChange[]
  totals: LiveTotals
  fingerprints: Set<string>
  objects: number
  checks: number
}

export function evaluateCluster(
  m: AgentModules,
  engine: Engine,
  cluster: string,
  objects: number,
  seed: number,
): EvaluatedCluster

export interface LineOptions {
  urls: string[]
  token: string
  ca?: string
  first?: number
  switchAfter?: number
  loseEvery?: number
  twinEvery?: number
}

export class ServiceLine {
  constructor(m: AgentModules, options: LineOptions)
  readonly url: URL
  latencies: number[]
  served: number[]
  lost: number
  twins: number
  switches: number
  request: Central['request']
  close(): void
}

export function pushCluster(
  m: AgentModules,
  evaluated: EvaluatedCluster,
  line: ServiceLine,
  options?: { reportEveryMs?: number; messageChanges?: number; log?: (line: string) => void },
): Promise<{ ms: number; session: string; sent: { messages: number; duplicates: number; lastAt: number } }>

export interface ClusterCheck {
  cluster: string
  expected: number
  stored: number
  distinct: number
  missing: number
  unexpected: number
  reopened: number
  sessions: number
  runs: number
}

export function verifyClusters(
  db: Kysely<Database>,
  evaluated: EvaluatedCluster[],
): Promise<{ ok: boolean; clusters: ClusterCheck[]; duplicated: number }>
