import { withCartridge } from '../open.js'
import { plural } from '../format.js'
import { println, type Io } from '../io.js'

/** `cartridge check <file>`: verifies the structure (and with `--data` every checksum); exit 1 on a problem. */
export async function check(io: Io, file: string, flags: { data?: boolean; json?: boolean }): Promise<number> {
  const report = await withCartridge(file, io, {}, (cart) => cart.check({ data: flags.data === true }))
  if (flags.json) {
    println(io.stdout, JSON.stringify(report, null, 2))
    return report.ok ? 0 : 1
  }
  for (const p of report.problems) println(io.stdout, `problem: ${p}`)
  if (report.omittedProblems > 0) println(io.stdout, `… and ${plural(report.omittedProblems, 'more problem')} not listed`)
  const what = `${plural(report.files, 'file')}, ${report.usedPages}/${report.totalPages} blocks used`
  if (report.ok) {
    println(io.stdout, `ok: ${what}${flags.data ? ', data verified' : ''}`)
    return 0
  }
  println(io.stdout, `${plural(report.problems.length + report.omittedProblems, 'problem')}: ${what}`)
  return 1
}
