import { parseArgs } from 'node:util'
import { info, startSandbox } from './index'

/**
 * Runs the sandbox in its own process and prints its connection details (with an admin refresh
 * token) as one JSON line, then serves until killed:
 *   tsx api/src/sandbox/cli.ts --deals 100000 --port 0
 */
const { values } = parseArgs({
  options: {
    deals: { type: 'string' },
    port: { type: 'string' },
    seed: { type: 'string' },
    'home-currency': { type: 'string' },
    'fx-plan': { type: 'string' },
    'daily-credits': { type: 'string' },
    'anchor-date': { type: 'string' },
  },
})

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v))
const plan = values['fx-plan']
const sandbox = await startSandbox({
  deals: num(values.deals),
  port: num(values.port),
  seed: num(values.seed),
  homeCurrency: values['home-currency'],
  fxPlan: plan === 'free' || plan === 'paid' ? plan : undefined,
  dailyCredits: num(values['daily-credits']),
  anchorDate: values['anchor-date'],
})
console.log(JSON.stringify({ ...info(sandbox), refreshToken: sandbox.issueRefreshToken() }))

const stop = () => void sandbox.close().finally(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
