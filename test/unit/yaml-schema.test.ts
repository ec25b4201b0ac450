import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { KUBERNETES_YAML_SCHEMA } from '../../src/resources/yaml-schema.js'

const read = (text: string) => load(text, { schema: KUBERNETES_YAML_SCHEMA })

describe('YAML scalars as the API server (go-yaml v2) reads them', () => {
  it.each([
    ['yes', true],
    ['On', true],
    ['no', false],
    ['off', false],
    ['y', true],
    ['~', null],
    ['0755', 493],
    ['0o17', 15],
    ['0x1F', 31],
    ['0b101', 5],
    ['1_000', 1000],
    ['-42', -42],
    ['1e3', 1000],
    ['1.5', 1.5],
    ['08', 8],
    ['.inf', Number.POSITIVE_INFINITY],
  ])('%s is %o', (text, expected) => {
    expect(read(`v: ${text}`)).toEqual({ v: expected })
  })

  it.each([['2001-12-14'], ['190:20:30'], ['"yes"'], ['1.2.3'], ['0x'], ['true_ish']])(
    '%s stays a string',
    (text) => {
      const v = (read(`v: ${text}`) as { v: unknown }).v
      expect(typeof v).toBe('string')
    },
  )

  it('decodes !!binary to its text and supports merge keys', () => {
    expect(read('a: !!binary aGVsbG8=\nb: &x {c: 1}\nd:\n  <<: *x\n  e: 2\n')).toEqual({
      a: 'hello',
      b: { c: 1 },
      d: { c: 1, e: 2 },
    })
  })
})
