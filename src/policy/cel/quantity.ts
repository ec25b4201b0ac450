/**
 * Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) for CEL, as the API server's quantity library
 * offers them: exact comparison and arithmetic, approximate floats. A value is kept as an exact
 * rational, `num / 10^scale`, so `1Gi` equals `1073741824` and `100m` equals `0.1` exactly.
 */
import type { Environment } from '@marcbachmann/cel-js'

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
}
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }
const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/

export class Quantity {
  private constructor(
    readonly num: bigint,
    readonly scale: number,
  ) {}

  static parse(text: string): Quantity | undefined {
    const m = PATTERN.exec(text.trim())
    if (!m) return undefined
    const [, sign, digits, suffix = ''] = m
    const [whole, frac = ''] = digits!.split('.')
    let num = BigInt(`${whole || '0'}${frac}`) * (sign === '-' ? -1n : 1n)
    let scale = frac.length
    if (suffix in BINARY) num *= BINARY[suffix]!
    else if (suffix in DECIMAL) scale -= DECIMAL[suffix]!
    else scale -= Number(suffix.slice(1))
    return new Quantity(num, scale)
  }

  static of(value: bigint | number | string): Quantity {
    const q = Quantity.parse(String(value))
    if (!q) throw new Error(`invalid quantity: '${value}'`)
    return q
  }

  /** Both values as integers over the same power of ten. */
  private static align(a: Quantity, b: Quantity): [bigint, bigint, number] {
    const scale = Math.max(a.scale, b.scale)
    return [a.num * 10n ** BigInt(scale - a.scale), b.num * 10n ** BigInt(scale - b.scale), scale]
  }

  compareTo(other: Quantity): number {
    const [x, y] = Quantity.align(this, other)
    return x < y ? -1 : x > y ? 1 : 0
  }

  add(other: Quantity): Quantity {
    const [x, y, scale] = Quantity.align(this, other)
    return new Quantity(x + y, scale)
  }

  sub(other: Quantity): Quantity {
    const [x, y, scale] = Quantity.align(this, other)
    return new Quantity(x - y, scale)
  }

  sign(): bigint {
    return this.num > 0n ? 1n : this.num < 0n ? -1n : 0n
  }

  isInteger(): boolean {
    return this.scale <= 0 || this.num % 10n ** BigInt(this.scale) === 0n
  }

  asInteger(): bigint {
    if (!this.isInteger()) throw new Error('quantity is not an integer')
    const v = this.scale <= 0 ? this.num * 10n ** BigInt(-this.scale) : this.num / 10n ** BigInt(this.scale)
    if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) throw new Error('quantity overflows int64')
    return v
  }

  asApproximateFloat(): number {
    return Number(this.num) / 10 ** this.scale
  }
}

export function addQuantityLibrary(env: Environment): Environment {
  return (
    env
      .registerType('Quantity', Quantity)
      .registerFunction('isQuantity(string): bool', (s: string) => Quantity.parse(s) !== undefined)
      .registerFunction('quantity(string): Quantity', (s: string) => Quantity.of(s))
      // YAML gives `cpu: 1` and `cpu: 0.5` as numbers where the API server holds strings; accept them.
      .registerFunction('quantity(int): Quantity', (n: bigint) => Quantity.of(n))
      .registerFunction('quantity(double): Quantity', (n: number) => Quantity.of(n))
      .registerFunction('Quantity.isInteger(): bool', (q: Quantity) => q.isInteger())
      .registerFunction('Quantity.asInteger(): int', (q: Quantity) => q.asInteger())
      .registerFunction('Quantity.asApproximateFloat(): double', (q: Quantity) => q.asApproximateFloat())
      .registerFunction('Quantity.sign(): int', (q: Quantity) => q.sign())
      .registerFunction('Quantity.add(Quantity): Quantity', (a: Quantity, b: Quantity) => a.add(b))
      .registerFunction('Quantity.add(int): Quantity', (a: Quantity, b: bigint) => a.add(Quantity.of(b)))
      .registerFunction('Quantity.sub(Quantity): Quantity', (a: Quantity, b: Quantity) => a.sub(b))
      .registerFunction('Quantity.sub(int): Quantity', (a: Quantity, b: bigint) => a.sub(Quantity.of(b)))
      .registerFunction('Quantity.compareTo(Quantity): int', (a: Quantity, b: Quantity) =>
        BigInt(a.compareTo(b)),
      )
      .registerFunction(
        'Quantity.isLessThan(Quantity): bool',
        (a: Quantity, b: Quantity) => a.compareTo(b) < 0,
      )
      .registerFunction(
        'Quantity.isGreaterThan(Quantity): bool',
        (a: Quantity, b: Quantity) => a.compareTo(b) > 0,
      )
  )
}
