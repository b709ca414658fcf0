#!/usr/bin/env node
// Writes bypass-corpus.json: path inputs that try to reach /private/secret.txt (or anything under
// /private) past a policy that allows /public/** and denies /private/**. Run it again after
// editing the families below: node packages/cartridge/src/testing/bypass-corpus.mjs
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cases = []
const add = (family, input, note = '') => cases.push({ id: cases.length + 1, family, input, ...(note ? { note } : {}) })

const target = ['private', 'secret.txt']
const join = (segs, sep = '/') => sep + segs.join(sep)

// 1. Dot segments, in every position.
for (const pre of [['public', '..'], ['public', '.', '..'], ['public', '..', '..'], ['.', 'public', '..'], ['public', 'sub', '..', '..'], ['..'], ['public', '..', '.', '.'], ['a', 'b', 'c', '..', '..', '..']]) {
  add('dot-segments', join([...pre, ...target]))
}
add('dot-segments', '/private/./secret.txt')
add('dot-segments', '/private/x/../secret.txt')
add('dot-segments', '/public/../private/./secret.txt')
add('dot-segments', '/./private/secret.txt')
add('dot-segments', '/private/secret.txt/.')
add('dot-segments', '/private/secret.txt/..', 'names /private itself')
add('dot-segments', 'private/secret.txt', 'no leading slash')
add('dot-segments', './private/secret.txt')
add('dot-segments', '../private/secret.txt')
add('dot-segments', '/public/..')
add('dot-segments', '/public/../private')
add('dot-segments', '/public/../private/')
// 2. Doubled, tripled and trailing slashes.
for (const p of ['//private/secret.txt', '///private/secret.txt', '/private//secret.txt', '/private///secret.txt', '/private/secret.txt/', '/private/secret.txt//', '//private//secret.txt//', '/public//../private/secret.txt', '/public/..//private/secret.txt', '/private/', '/private//', '//private']) add('slashes', p)
// 3. Backslashes and mixed separators (literal characters in a Cartridge path: a different file).
for (const p of ['\\private\\secret.txt', '/public\\..\\private\\secret.txt', '/public/..\\private/secret.txt', '/private\\secret.txt', '\\\\private\\secret.txt', '/public\\../private/secret.txt', '/public/..\\..\\private/secret.txt']) add('backslash', p)
// 4. Percent-encoding (never decoded: literal names).
for (const p of ['/public/%2e%2e/private/secret.txt', '/public/%2E%2E/private/secret.txt', '/public/..%2fprivate%2fsecret.txt', '/public%2f..%2fprivate%2fsecret.txt', '/%70rivate/secret.txt', '/private%2fsecret.txt', '/public/%252e%252e/private/secret.txt', '/public/.%2e/private/secret.txt', '/public/%2e./private/secret.txt', '/public/..%5cprivate%5csecret.txt', '/private/secret%2etxt', '/public/%c0%ae%c0%ae/private/secret.txt']) add('percent', p)
// 5. Unicode look-alikes of separators and dots.
const slashes = ['\u2215', '\uff0f', '\u2044', '\u29f8', '\u1735', '\u2f03', '\u30ce', '\u0338']
const dots = ['\u2024', '\uff0e', '\u3002', '\ufe52', '\u0701', '\u00b7', '\u2025']
for (const s of slashes) {
  add('lookalike-slash', `/public${s}..${s}private${s}secret.txt`, `U+${s.codePointAt(0).toString(16).toUpperCase()}`)
  add('lookalike-slash', `/public/..${s}private/secret.txt`, `U+${s.codePointAt(0).toString(16).toUpperCase()}`)
  add('lookalike-slash', `/private${s}secret.txt`, `U+${s.codePointAt(0).toString(16).toUpperCase()}`)
}
for (const d of dots) {
  add('lookalike-dot', `/public/${d}${d}/private/secret.txt`, `U+${d.codePointAt(0).toString(16).toUpperCase()}`)
  add('lookalike-dot', `/public/.${d}/private/secret.txt`, `U+${d.codePointAt(0).toString(16).toUpperCase()}`)
  add('lookalike-dot', `/public/${d}./private/secret.txt`, `U+${d.codePointAt(0).toString(16).toUpperCase()}`)
  add('lookalike-dot', `/private/secret${d}txt`, `U+${d.codePointAt(0).toString(16).toUpperCase()}`)
}
add('lookalike-dot', '/public/\u2025/private/secret.txt', 'two-dot leader')
add('fullwidth', '\uff0fprivate\uff0fsecret.txt')
add('fullwidth', '/\uff50\uff52\uff49\uff56\uff41\uff54\uff45/secret.txt', 'fullwidth letters')
add('fullwidth', '/public/\uff0e\uff0e/private/secret.txt')
// 6. NFC / NFD: the name of the private file itself has a precomposed letter.
for (const p of ['/private/caf\u00e9.txt', '/private/cafe\u0301.txt', '/public/../private/cafe\u0301.txt', '/privat\u0065\u0301/secret.txt', '/\u212bngstr\u00f6m/x', '/private/\u1e9b\u0323.txt', '/private/\u0073\u0323\u0307.txt', '/private/\u1e69.txt']) add('unicode-normalization', p)
// 7. NUL and control characters.
for (const c of ['\u0000', '\u0001', '\u0009', '\u000a', '\u000d', '\u001b', '\u007f', '\u0085', '\u009b', '\u200e', '\u202e', '\u2066', '\u061c']) {
  const code = `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`
  add('control', `/private/secret.txt${c}`, code)
  add('control', `/public/..${c}/private/secret.txt`, code)
  add('control', `/public/${c}../private/secret.txt`, code)
}
add('control', '/private/secret.txt\u0000.png', 'NUL truncation')
add('control', '/public/a.txt\u0000/../../private/secret.txt', 'NUL truncation')
add('control', '/private/\ud800secret.txt', 'lone high surrogate')
add('control', '/private/secret\udc00.txt', 'lone low surrogate')
// 8. Case variants (resources are case-sensitive: a different file, never the private one).
for (const p of ['/PRIVATE/secret.txt', '/Private/secret.txt', '/private/SECRET.TXT', '/pRiVaTe/secret.txt', '/PUBLIC/../private/secret.txt', '/Public/../Private/Secret.txt', '/\u0130private/secret.txt', '/private/secret.TXT']) add('case', p)
// 9. Very long paths and segments.
add('long', '/public/' + 'a/'.repeat(200) + '../'.repeat(201) + 'private/secret.txt', 'climbs back out of 200 segments')
add('long', '/public/' + 'x'.repeat(255) + '/../../private/secret.txt')
add('long', '/public/' + 'x'.repeat(256) + '/../../private/secret.txt', 'segment too long')
add('long', '/private/' + 'y'.repeat(2000), 'path too long')
add('long', '/public/' + './'.repeat(500) + '../private/secret.txt')
add('long', '/' + '/'.repeat(1000) + 'private/secret.txt')
add('long', '/public/' + 'a/../'.repeat(300) + '../private/secret.txt')
add('long', '/private/' + '\u00e9'.repeat(130), 'long in bytes, short in characters')
// 10. Glob metacharacters inside real file names.
for (const p of ['/private/*', '/private/**', '/private/secret.*', '/private/?ecret.txt', '/private/[s]ecret.txt', '/private/{secret,x}.txt', '/public/*/../../private/secret.txt', '/public/**/../../private/secret.txt', '/p*/secret.txt', '/pr?vate/secret.txt', '/[p]rivate/secret.txt', '/{private,public}/secret.txt', '/private/!(x).txt', '/private/+(secret).txt', '/private/secret.txt*', '/public/\\*', '/public/a*b.txt', '/public/[x].txt', '/public/{a,b}.txt', '/public/!secret.txt', '/**/secret.txt', '/*/secret.txt', '/**']) add('glob-metacharacters', p)
// 11. Whitespace and odd but legal names around the target.
for (const p of ['/private /secret.txt', '/ private/secret.txt', '/private/secret.txt ', '/private\u00a0/secret.txt', '/private\u200b/secret.txt', '/pri\u00advate/secret.txt', '/private\ufeff/secret.txt', '/private/secret.txt.', '/private./secret.txt', '/.private/secret.txt', '/private/.secret.txt', '/public/.../private/secret.txt', '/public/..../private/secret.txt', '/public/ ../private/secret.txt', '/public/.. /private/secret.txt']) add('lookalike-names', p)
// 12. Combinations: a start inside /public, a way to climb, a target under /private.
for (const start of ['/public', '/public/sub', '/public/a.txt']) {
  for (const climb of ['..', '../..', './..', '.././..', '..//..', '%2e%2e', '.\u2024', '..\\..', '...']) {
    for (const tail of ['private/secret.txt', 'private', 'private/']) add('combination', `${start}/${climb}/${tail}`)
  }
}
// 13. Targets beside the secret: another private file, a private directory, a private database.
for (const p of ['/private/other.txt', '/private/db.sqlite', '/private/sub/deep.txt', '/public/../private/sub/deep.txt', '/public/../private/sub/', '/private/sub/../secret.txt', '/public/sub/../../private/db.sqlite', '/private/sub//deep.txt', '/private/sub/./deep.txt', '/public/./sub/./../../private/other.txt']) add('other-targets', p)
// 14. Non-string and empty inputs.
for (const p of ['', '/', '.', '..', ' ']) add('degenerate', p)

const out = fileURLToPath(new URL('./bypass-corpus.json', import.meta.url))
writeFileSync(out, JSON.stringify({ description: 'Path inputs that try to reach /private past a policy allowing /public/** and denying /private/**; see policy-bypass.test.ts', cases }, null, 1) + '\n')
console.log(`${cases.length} cases → ${out}`)
