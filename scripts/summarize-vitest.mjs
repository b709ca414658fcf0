// Prints the closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report.
import { readFileSync } from 'node:fs'
const file = process.argv[2]
let r
try {
  r = JSON.parse(readFileSync(file, 'utf8'))
} catch {
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const failedSuites = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed')).length
const passed = (r.numPassedTests ?? 0) + Number(process.env.EXTRA_PASSED ?? 0)
const failed = (r.numFailedTests ?? 0) + failedSuites + Number(process.env.EXTRA_FAILED ?? 0)
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
