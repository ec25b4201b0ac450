/**
 * Quantities as people and manifests read them. Human (tables): CPU in millicores under 10 cores
 * (`250m`, `1600m`), in cores above (`12.5`); memory in Mi under 1 GiB (`391Mi`), in Gi above
 * (`1.5Gi`). Kubernetes (patches, values): exact quantities the API server reads back to the same
 * number (`250m`, `2`, `391Mi`, `2Gi`, `1536Ki`, or bytes).
 */

const MIB = 1024 * 1024
const GIB = 1024 * MIB

const trim = (x: number, digits: number) => String(Number(x.toFixed(digits)))

/** 0.25 -> `250m`; 12.5 -> `12.5`; undefined -> `-` */
export function humanCpu(cores: number | undefined): string {
  if (cores === undefined) return '-'
  if (!Number.isFinite(cores)) return 'unbounded'
  if (Math.abs(cores) >= 10) return trim(cores, 1)
  return `${trim(cores * 1000, 0 + (Math.abs(cores) < 0.001 ? 2 : 0))}m`
}

/** 410009600 -> `391Mi`; 1.5 GiB -> `1.5Gi`; undefined -> `-` */
export function humanMemory(bytes: number | undefined): string {
  if (bytes === undefined) return '-'
  if (!Number.isFinite(bytes)) return 'unbounded'
  if (Math.abs(bytes) >= GIB) return `${trim(bytes / GIB, 2)}Gi`
  return `${trim(bytes / MIB, Math.abs(bytes) < 10 * MIB ? 1 : 0)}Mi`
}

/** A CPU quantity for a manifest: whole cores as `2`, whole millicores as `250m`, else decimal cores. */
export function kubeCpu(cores: number): string {
  const milli = Math.round(cores * 1000)
  if (Math.abs(cores * 1000 - milli) < 1e-6) return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`
  return String(cores)
}

/** A memory quantity for a manifest, exact: `2Gi`, `391Mi`, `1536Ki`, or bytes. */
export function kubeMemory(bytes: number): string {
  const b = Math.round(bytes)
  if (b !== 0 && b % GIB === 0) return `${b / GIB}Gi`
  if (b !== 0 && b % MIB === 0) return `${b / MIB}Mi`
  if (b !== 0 && b % 1024 === 0) return `${b / 1024}Ki`
  return String(b)
}

/** `42%`, or `-` when there is nothing to divide by. */
export function percent(part: number, whole: number): string {
  if (!(whole > 0) || !Number.isFinite(part)) return '-'
  return `${Math.round((part / whole) * 100)}%`
}
