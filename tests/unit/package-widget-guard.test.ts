import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { apiBaseProblem } from '../../scripts/check-api-base'

/**
 * `npm run package:widget` builds the zip Zoho serves; without PP_API_BASE (or with one the browser
 * cannot call from Zoho's https page) that zip can only fail inside Zoho CRM, so packaging stops first.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))
const script: string = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).scripts['package:widget']
const guard = script.split('&&')[0]!.trim()

/** Runs the guard step of the package:widget script line (never the build or zet after it). */
function runGuard(apiBase: string | undefined) {
  // Anything else first would be the build itself: fail rather than package.
  if (!guard.includes('check-api-base'))
    throw new Error(`package:widget does not start with the check: ${script}`)
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${root}/node_modules/.bin:${process.env.PATH}` }
  delete env.PP_API_BASE
  if (apiBase !== undefined) env.PP_API_BASE = apiBase
  return spawnSync(guard, { cwd: root, env, shell: true, encoding: 'utf8', timeout: 30_000 })
}

describe('npm run package:widget checks PP_API_BASE before building', () => {
  it('runs the check first, before the web build and zet', () => {
    expect(guard).toBe('tsx scripts/check-api-base.ts')
    expect(script.indexOf('build:web')).toBeGreaterThan(script.indexOf(guard))
  })

  it('stops with one line naming PP_API_BASE when it is unset', () => {
    const r = runGuard(undefined)
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^package:widget: PP_API_BASE is not set/)
    expect(lines[0]).toContain('PP_API_BASE=https://')
  })

  it('stops on a plain-http public address and passes an https one', () => {
    const bad = runGuard('http://pulse.example.com')
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim()).toMatch(/^package:widget: PP_API_BASE must be an https URL/)
    const good = runGuard('https://pulse.example.com')
    expect(good.status).toBe(0)
    expect(good.stderr).toBe('')
  })
})

describe('apiBaseProblem', () => {
  it.each(['', '   ', undefined])('refuses an empty value (%j)', (v) => {
    expect(apiBaseProblem(v)).toMatch(/PP_API_BASE is not set/)
  })

  it.each([
    'pulse.example.com',
    'http://pulse.example.com',
    'http://10.0.0.5:8000',
    'ftp://pulse.example.com',
  ])('refuses %s: not https', (v) => {
    expect(apiBaseProblem(v)).toMatch(/must be an https URL/)
  })

  it.each([
    'https://pulse.example.com/?x=1',
    'https://user:pw@pulse.example.com',
    'https://pulse.example.com/#a',
    'https:pulse.example.com',
  ])('refuses %s: not a plain base URL the build would bake in as is', (v) => {
    expect(apiBaseProblem(v)).toMatch(/base URL alone/)
  })

  it.each([
    'https://pulse.example.com',
    'https://pulse.example.com/',
    'https://pulse.example.com:8443/pulse',
    // Loopback over http: browsers let the https Zoho page call it (local trials against npm start).
    'http://localhost:8000',
    'http://127.0.0.1:8000',
  ])('accepts %s', (v) => {
    expect(apiBaseProblem(v)).toBeNull()
  })
})
