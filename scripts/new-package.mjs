// Writes package.json + tsconfig.json for a workspace package (idempotent for the fields it owns).
import { writeFileSync, existsSync, readFileSync, mkdirSync } from 'node:fs'
const [dir, name, desc, deps = '', hasTest = 'yes'] = process.argv.slice(2)
mkdirSync(`${dir}/src`, { recursive: true })
const entries = ['src/index.ts', ...(hasTest === 'yes' ? ['src/test.ts'] : [])]
const exp = (base) => ({
  import: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` },
  require: { types: `./dist/${base}.d.cts`, default: `./dist/${base}.cjs` },
})
const pkgPath = `${dir}/package.json`
const prev = existsSync(pkgPath) ? JSON.parse(readFileSync(pkgPath, 'utf8')) : {}
const pkg = {
  name, version: prev.version ?? '0.1.0', description: desc, license: 'MIT', type: 'module', sideEffects: false,
  main: './dist/index.cjs', module: './dist/index.js', types: './dist/index.d.ts',
  exports: { '.': exp('index'), ...(hasTest === 'yes' ? { './test': exp('test') } : {}), './package.json': './package.json' },
  files: ['dist', 'src', '!src/**/*.test.ts'],
  engines: { node: '>=20.19' },
  scripts: {
    build: `tsup ${entries.join(' ')} --format esm,cjs --dts --clean --target node20`,
    typecheck: 'tsc --noEmit -p tsconfig.json',
  },
  dependencies: Object.fromEntries(deps.split(',').filter(Boolean).map((d) => [d, d.startsWith('@cartridge/') || d === 'cartridge' ? 'workspace:*' : prev.dependencies?.[d] ?? '*'])),
  ...(hasTest === 'yes' ? { peerDependencies: { vitest: '>=4' }, peerDependenciesMeta: { vitest: { optional: true } } } : {}),
  ...(prev.devDependencies ? { devDependencies: prev.devDependencies } : {}),
}
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n')
writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src'] }, null, 2) + '\n')
