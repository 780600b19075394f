import net from 'node:net'

/*
 * postgres.js options for the Node runtime (server, CLI, tests, bench). Not for Workers, whose
 * sockets come from cloudflare:sockets through Hyperdrive.
 */

interface SocketOptions {
  host: string[]
  port: number[]
  path?: string | false
}

/**
 * A connected socket with TCP_NODELAY. A sync page's statement (~100 KB) is one write spanning
 * several segments, and pipelined queries go out as separate writes; with Nagle's algorithm on, a
 * small segment behind unacknowledged data waits for the delayed ACK (40 ms on loopback). Hosts
 * are tried in order, as postgres.js does for a multi-host URL.
 */
async function noDelaySocket(o: SocketOptions): Promise<net.Socket> {
  if (o.path) return connected(net.connect({ path: o.path }))
  let last: unknown
  for (let i = 0; i < o.host.length; i++) {
    try {
      return await connected(net.connect({ host: o.host[i]!, port: o.port[i] ?? o.port[0]!, noDelay: true }))
    } catch (e) {
      last = e
    }
  }
  throw last
}

function connected(s: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
}

/**
 * No parallel query. On a small server (2 cores here) the API's aggregates run in 10-60 ms, and a
 * parallel worker's launch costs more than it saves: the summary at 1M deals took a p50 of 48 ms
 * with workers and 25 ms without, and under load the workers only take cores from other requests.
 * On Workers, set it on the database role instead (README, deploying): startup settings through
 * Hyperdrive are not verified here.
 */
const SERVER_SETTINGS = {
  max_parallel_workers_per_gather: '0',
  /*
   * No JIT compilation either: PostgreSQL compiles any query its planner costs over 100,000, and at
   * 1M deals the risk, quality and time-in-stage queries spent 0.5 to 1 s of their 1-2 s compiling
   * expressions they then ran for well under that.
   */
  jit: 'off',
  /*
   * One known session whatever the server, database or role says (as PGlite always is): dates go
   * out as `::text` in several places (contracts, keyset cursors, snapshot days) and postgres.js
   * parses timestamps it reads, both only correct in ISO style; a DBA's `DateStyle = 'SQL, DMY'`
   * gave 18/12/2024 closing dates and refused page 2 of the deals list. UTC keeps SQL that reads
   * the session zone (current_date) independent of the server's.
   */
  DateStyle: 'ISO, MDY',
  TimeZone: 'UTC',
}

/** Spread into connectPostgres options on Node: no-delay sockets and the settings above. */
export const nodePostgresOptions = { socket: noDelaySocket, connection: SERVER_SETTINGS } as const
