// The dashboard's weight: every file vite wrote to dist/web, raw and gzipped (what a browser downloads
// from a server that compresses). Target (issue 4): <= 400 KB gzip. Run after `npm run build`.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'

const dir = new URL('../dist/web', import.meta.url).pathname
const files = []
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name)
    if (statSync(p).isDirectory()) walk(p)
    else files.push(p)
  }
}
try {
  walk(dir)
} catch {
  console.error(`no ${dir}: run npm run build first`)
  process.exit(2)
}
let raw = 0
let gz = 0
for (const f of files.sort()) {
  const body = readFileSync(f)
  const z = gzipSync(body, { level: 9 }).length
  raw += body.length
  gz += z
  console.log(
    `${relative(dir, f).padEnd(40)} ${(body.length / 1024).toFixed(1).padStart(8)} KB  ${(z / 1024).toFixed(1).padStart(7)} KB gzip`,
  )
}
console.log(
  `total: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzip   (target <= 400 KB gzip)  ${gz <= 400 * 1024 ? 'OK' : 'MISSED'}`,
)
