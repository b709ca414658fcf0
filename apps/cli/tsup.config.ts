import { defineConfig } from 'tsup'

// ESM only: the entry uses top-level await, which a CJS build cannot hold.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
})
