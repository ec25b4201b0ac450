import { expect, test } from 'vitest'
import { health } from './server.js'

test('health', () => {
  expect(health().ok).toBe(true)
})
