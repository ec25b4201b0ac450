// Records one large synthetic run into a store, for the crash test in store.test.ts: it prints a line
// when the write begins, and the test kills it at some point after that.
import { syntheticReport } from '../../bench/lib/synthetic-report.mjs'
import { openStore } from '../../dist/store/connect.js'
import { recordRun } from '../../dist/store/record-run.js'

const [, , location, count] = process.argv
const store = await openStore(location)
const report = syntheticReport(Number(count))
process.stdout.write('writing\n')
await recordRun(store, report, { source: 'ci', target: 'crash', plimsollVersion: 'test' })
await store.close()
process.stdout.write('done\n')
