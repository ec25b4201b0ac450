// Regenerates the Helm chart's files in deploy/helm/plimsoll from the builder of `plimsoll install`
// (src/install/helm.ts), after `npm run build`. test/unit/helm-chart.test.ts fails while the committed
// chart differs from what this writes.
import { fileURLToPath } from 'node:url'
import { helmChart, writeHelmChart } from '../dist/install/helm.js'
import { loadLibrary } from '../dist/policy/library.js'

const dir = fileURLToPath(new URL('../deploy/helm/plimsoll', import.meta.url))
const files = writeHelmChart(dir, helmChart(loadLibrary()))
process.stderr.write(`write-helm-chart: wrote ${files.length} files to ${dir}: ${files.join(', ')}\n`)
