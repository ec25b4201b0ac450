#!/usr/bin/env node
import { existsSync } from 'node:fs'

if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  process.stderr.write(
    'plimsoll: not built yet; run `npm install` (or `npm run build`) in the package first\n',
  )
  process.exit(2)
}
await import('../dist/cli/main.js')
