import { describe, expect, it } from 'vitest'
import { checkEnvironment } from '../../src/policy/cel/environment.js'
import { Quantity } from '../../src/policy/cel/quantity.js'

const cel = (expr: string, vars: Record<string, unknown> = {}) => checkEnvironment().parse(expr)(vars)

describe('Quantity', () => {
  it.each([
    ['1Gi', '1073741824'],
    ['100m', '0.1'],
    ['1.5k', '1500'],
    ['2e3', '2000'],
    ['1E-3', '1m'],
    ['0.5Mi', '512Ki'],
    ['+3', '3'],
  ])('%s equals %s exactly', (a, b) => {
    expect(Quantity.of(a).compareTo(Quantity.of(b))).toBe(0)
  })

  it.each(['', 'abc', '1KiB', '1K', '--1', '1.2.3', 'Mi'])('rejects %o', (text) => {
    expect(Quantity.parse(text)).toBeUndefined()
  })

  it('converts to integers and floats', () => {
    expect(Quantity.of('2Ki').asInteger()).toBe(2048n)
    expect(() => Quantity.of('1500m').asInteger()).toThrow(/not an integer/)
    expect(Quantity.of('250m').asApproximateFloat()).toBeCloseTo(0.25)
    expect(Quantity.of('-5').sign()).toBe(-1n)
  })
})

describe('quantity in CEL', () => {
  it('compares, adds and tests quantities as the Kubernetes library does', () => {
    expect(cel("quantity('1Gi').isGreaterThan(quantity('1000Mi'))")).toBe(true)
    expect(cel("quantity('500m').add(quantity('500m')).compareTo(quantity('1'))")).toBe(0n)
    expect(cel("quantity('2').sub(1).asInteger()")).toBe(1n)
    expect(cel("isQuantity('1Gi') && !isQuantity('one gig')")).toBe(true)
  })

  it('accepts the numbers YAML gives for unquoted quantities', () => {
    expect(
      cel('quantity(object.cpu).isLessThan(quantity(object.half))', { object: { cpu: 1n, half: 0.5 } }),
    ).toBe(false)
    expect(cel('quantity(object.cpu).asApproximateFloat()', { object: { cpu: 0.5 } })).toBe(0.5)
  })

  it('raises an evaluation error for an invalid quantity', () => {
    expect(() => cel("quantity('lots')")).toThrow(/invalid quantity/)
  })
})
