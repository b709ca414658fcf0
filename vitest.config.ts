import { readdirSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Inside the repo, packages resolve to their TypeScript sources, so tests need no build step.
const root = fileURLToPath(new URL('.', import.meta.url))
const alias: { find: RegExp; replacement: string }[] = []
for (const dir of readdirSync(`${root}packages`)) {
  const name = dir === 'cartridge' ? 'cartridge' : `@cartridge/${dir}`
  const esc = name.replace(/[/]/g, '\\/')
  if (existsSync(`${root}packages/${dir}/src/test.ts`)) alias.push({ find: new RegExp(`^${esc}/test$`), replacement: `${root}packages/${dir}/src/test.ts` })
  alias.push({ find: new RegExp(`^${esc}$`), replacement: `${root}packages/${dir}/src/index.ts` })
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'spec/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
