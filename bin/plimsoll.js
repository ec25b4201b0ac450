#!/usr/bin/env node
import { existsSync } from 'node:fs'

if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  process.stderr.write(
    'plimsoll: not built yet; run `npm install` (or `npm run build`) in the package first\n',
  )
  process.exit(2)
}
// `plimsoll ... | head`: the reader has gone; stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}
await import('../dist/cli/main.js')
