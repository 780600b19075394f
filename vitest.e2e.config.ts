import { defineConfig } from 'vitest/config'

/** Browser tests: headless Debian Chromium (playwright-core) against the real Node server. */
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
})
