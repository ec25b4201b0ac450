/**
 * The VPA recommender's decaying exponential histogram, written afresh from its documented behaviour.
 *
 * Facts used (kubernetes/autoscaler, vertical-pod-autoscaler/pkg/recommender, at commit 55c37cd5eb55):
 * - util/histogram_options.go, NewExponentialHistogramOptions: bucket b (b >= 1) starts at
 *   firstBucketSize * (ratio^b - 1) / (ratio - 1), bucket 0 is [0, firstBucketSize); the number of buckets
 *   is ceil(log_ratio(maxValue * (ratio - 1) / firstBucketSize + 1)) + 1; values past the last bucket
 *   go into it.
 * - model/aggregations_config.go: ratio = 1 + 0.05 (DefaultHistogramBucketSizeGrowth, "each bucket 5%
 *   larger than the previous one"); CPU: first bucket 0.01 core, max 1000 cores; memory: first bucket
 *   1e7 bytes (10 MB), max 1e12 bytes (1 TB); epsilon = 0.001 * minSampleWeight = 0.0001 (weights below
 *   it do not count when finding the lowest and highest non-empty bucket); minSampleWeight = 0.1.
 * - util/histogram.go, Percentile(p): walk the buckets from the lowest non-empty one, summing weights,
 *   stop at the first whose running sum reaches p * total weight, and answer the START OF THE NEXT
 *   bucket (so the answer is at most one bucket above the true percentile, never below it), or the
 *   last bucket's start if it is the last one; 0 when empty. IsEmpty: the lowest bucket's weight is
 *   below epsilon.
 * - util/decaying_histogram.go: a sample at time t is added with weight * 2^((t - reference) / halfLife),
 *   so a sample halfLife older than another counts half as much; when a sample comes more than
 *   maxDecayExponent (100) half-lives after the reference, the reference moves to that time rounded to
 *   a multiple of halfLife and every weight is scaled by 2^round((old - new) / halfLife) (renormalisation,
 *   so that the weights never overflow). Percentiles are ratios of weights, so the reference never
 *   changes them.
 * - model/aggregations_config.go: the half-life is 24 h for both CPU and memory.
 */

export interface BucketScheme {
  /** the width of bucket 0, and where bucket 1 starts */
  readonly firstBucketSize: number
  /** each bucket's width over the previous one's */
  readonly ratio: number
  /** the start of the last bucket is at least this */
  readonly maxValue: number
  /** weights below this count as empty */
  readonly epsilon: number
}

/** minSampleWeight (aggregations_config.go): the weight the VPA gives every CPU sample. */
export const VPA_MIN_SAMPLE_WEIGHT = 0.1
/** epsilon = 0.001 * minSampleWeight (aggregations_config.go). */
export const VPA_EPSILON = 0.001 * VPA_MIN_SAMPLE_WEIGHT
/** DefaultHistogramBucketSizeGrowth = 0.05. */
export const VPA_BUCKET_GROWTH = 0.05
/** DefaultCPUHistogramDecayHalfLife = DefaultMemoryHistogramDecayHalfLife = 24 h. */
export const VPA_HALF_LIFE_SECONDS = 24 * 60 * 60
/** maxDecayExponent (decaying_histogram.go). */
const MAX_DECAY_EXPONENT = 100

/** cpuHistogramOptions(): cores, first bucket 0.01 core, max 1000 cores. */
export const CPU_BUCKETS: BucketScheme = {
  firstBucketSize: 0.01,
  ratio: 1 + VPA_BUCKET_GROWTH,
  maxValue: 1000,
  epsilon: VPA_EPSILON,
}

/** memoryHistogramOptions(): bytes, first bucket 1e7 (10 MB), max 1e12 (1 TB). */
export const MEMORY_BUCKETS: BucketScheme = {
  firstBucketSize: 1e7,
  ratio: 1 + VPA_BUCKET_GROWTH,
  maxValue: 1e12,
  epsilon: VPA_EPSILON,
}

const logBase = (base: number, x: number) => Math.log(x) / Math.log(base)
/** Go's round in decaying_histogram.go: floor(x + 0.5). */
const roundHalfUp = (x: number) => Math.floor(x + 0.5)

/** Exponentially growing buckets: where a value falls and where a bucket starts. */
export class ExponentialBuckets {
  readonly count: number

  constructor(readonly scheme: BucketScheme) {
    const { firstBucketSize: first, ratio, maxValue } = scheme
    if (!(maxValue > 0 && first > 0 && ratio > 1 && scheme.epsilon > 0)) {
      throw new Error('a bucket scheme needs maxValue, firstBucketSize and epsilon > 0 and ratio > 1')
    }
    this.count = Math.ceil(logBase(ratio, (maxValue * (ratio - 1)) / first + 1)) + 1
  }

  /** The bucket a value falls in; negative values into the first, values past the end into the last. */
  find(value: number): number {
    const { firstBucketSize: first, ratio } = this.scheme
    if (!(value >= first)) return 0
    const bucket = Math.floor(logBase(ratio, (value * (ratio - 1)) / first + 1))
    return Math.min(bucket, this.count - 1)
  }

  /** Where a bucket starts (bucket 0 at 0). */
  start(bucket: number): number {
    if (bucket < 0 || bucket >= this.count || !Number.isInteger(bucket)) {
      throw new RangeError(`bucket ${bucket} is out of [0, ${this.count - 1}]`)
    }
    if (bucket === 0) return 0
    const { firstBucketSize: first, ratio } = this.scheme
    return (first * (ratio ** bucket - 1)) / (ratio - 1)
  }
}

/**
 * A histogram whose samples lose half their weight every `halfLifeSeconds`, relative to the newest.
 * Times are seconds since the epoch (the `t` of a Sample).
 */
export class DecayingHistogram {
  readonly buckets: ExponentialBuckets
  private readonly weights: Float64Array
  private total = 0
  private minBucket: number
  private maxBucket = 0
  /** seconds; set by the first sample (the VPA starts at the zero time and moves it at once) */
  private reference: number | undefined

  constructor(
    scheme: BucketScheme,
    readonly halfLifeSeconds: number = VPA_HALF_LIFE_SECONDS,
  ) {
    if (!(halfLifeSeconds > 0)) throw new Error('the half-life must be positive')
    this.buckets = new ExponentialBuckets(scheme)
    this.weights = new Float64Array(this.buckets.count)
    this.minBucket = this.buckets.count - 1
  }

  /** Adds a sample of `value` with `weight` at time `t` (seconds): newer samples weigh more. */
  add(value: number, weight: number, t: number): void {
    if (!(weight >= 0)) throw new Error('a sample weight must be non-negative')
    if (!Number.isFinite(value) || !Number.isFinite(t)) return
    const decayed = weight * this.decayFactor(t)
    const bucket = this.buckets.find(value)
    this.weights[bucket] = (this.weights[bucket] ?? 0) + decayed
    this.total += decayed
    const epsilon = this.buckets.scheme.epsilon
    if (bucket < this.minBucket && (this.weights[bucket] ?? 0) >= epsilon) this.minBucket = bucket
    if (bucket > this.maxBucket && (this.weights[bucket] ?? 0) >= epsilon) this.maxBucket = bucket
  }

  /**
   * The value below which `p` (0-1) of the weight lies, as the start of the bucket after the one
   * where the running sum reaches p * total: at most one bucket above the true percentile.
   */
  percentile(p: number): number {
    if (this.isEmpty()) return 0
    const threshold = p * this.total
    let sum = 0
    let bucket = this.minBucket
    for (; bucket < this.maxBucket; bucket++) {
      sum += this.weights[bucket] ?? 0
      if (sum >= threshold) break
    }
    return bucket < this.buckets.count - 1 ? this.buckets.start(bucket + 1) : this.buckets.start(bucket)
  }

  isEmpty(): boolean {
    return (this.weights[this.minBucket] ?? 0) < this.buckets.scheme.epsilon
  }

  /** The decayed weight of everything added, relative to the current reference time. */
  get totalWeight(): number {
    return this.total
  }

  private decayFactor(t: number): number {
    if (this.reference === undefined) {
      this.reference = roundHalfUp(t / this.halfLifeSeconds) * this.halfLifeSeconds
    } else if (t > this.reference + this.halfLifeSeconds * MAX_DECAY_EXPONENT) {
      this.shiftReference(t)
    }
    return 2 ** ((t - this.reference) / this.halfLifeSeconds)
  }

  private shiftReference(t: number): void {
    const next = roundHalfUp(t / this.halfLifeSeconds) * this.halfLifeSeconds
    const exponent = roundHalfUp(((this.reference ?? next) - next) / this.halfLifeSeconds)
    const factor = 2 ** exponent
    for (let b = this.minBucket; b <= this.maxBucket; b++) this.weights[b] = (this.weights[b] ?? 0) * factor
    this.total *= factor
    this.reference = next
    this.updateMinAndMax()
  }

  private updateMinAndMax(): void {
    const epsilon = this.buckets.scheme.epsilon
    const last = this.buckets.count - 1
    while ((this.weights[this.minBucket] ?? 0) < epsilon && this.minBucket < last) this.minBucket++
    while ((this.weights[this.maxBucket] ?? 0) < epsilon && this.maxBucket > 0) this.maxBucket--
  }
}
