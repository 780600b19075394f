import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'

it('the Worker bundles from the real wrangler.toml (wrangler deploy --dry-run)', () => {
  if (!existsSync('app')) mkdirSync('app') // [assets] must exist; the web build fills it
  const out = mkdtempSync(join(tmpdir(), 'pp-worker-'))
  try {
    const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], {
      encoding: 'utf8',
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        XDG_CONFIG_HOME: `${process.cwd()}/.wrangler/config`,
      },
    })
    expect(r.status, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('env.HYPERDRIVE')
    expect(r.stdout).toContain('env.SYNC_WORKFLOW')
    expect(readdirSync(out)).toContain('worker.js')
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
