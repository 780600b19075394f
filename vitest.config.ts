import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'

/**
 * Every suite runs against PGlite; when TEST_DATABASE_URL is set, the database suites run against
 * real PostgreSQL as well (project "postgres"). Unit suites need no database and run once.
 * The Worker suite needs PostgreSQL (PGlite cannot run inside workerd), so it is in that project,
 * as are tests/postgres/ (a real server's own settings, which an embedded PGlite does not have).
 */
const dbSuites = [
  'tests/api/**/*.test.ts',
  'tests/sync/**/*.test.ts',
  'tests/fx/**/*.test.ts',
  'tests/db/**/*.test.ts',
  'tests/zoho/**/*.test.ts',
]
const withPostgres: boolean = Boolean(process.env.TEST_DATABASE_URL)

export default defineConfig({
  test: {
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'pglite',
          env: { TEST_DB: 'pglite' },
          include: ['tests/unit/**/*.test.ts', ...dbSuites],
        },
      },
      ...(withPostgres
        ? ([
            {
              extends: true,
              test: {
                name: 'postgres',
                env: { TEST_DB: 'postgres' },
                include: [...dbSuites, 'tests/worker/**/*.test.ts', 'tests/postgres/**/*.test.ts'],
              },
            },
          ] satisfies TestProjectInlineConfiguration[])
        : []),
    ],
  },
})
