import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { connectPglite } from '../../api/src/db/pglite'

describe('embedded PGlite data folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-lock-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a second opener of the same folder, in this process or another, and frees it on close', async () => {
    const first = await connectPglite(dir)
    await expect(connectPglite(dir)).rejects.toThrow(/already open/)
    const other = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./api/src/db/pglite.ts').then(m => m.connectPglite(${JSON.stringify(dir)})).then(() => process.exit(0), e => { console.error(e.message); process.exit(3) })`,
      ],
      { encoding: 'utf8' },
    )
    expect(other.status).toBe(3)
    expect(other.stderr).toMatch(/in use by process \d+/)
    await first.close()
    const again = await connectPglite(dir)
    await again.close()
  })
})
