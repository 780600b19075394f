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
 * A connected socket with TCP_NODELAY. COPY sends its rows and CopyDone as two writes; with Nagle's
 * algorithm on, the second waits for the delayed ACK of the first: 40 ms per COPY on loopback.
 * Hosts are tried in order, as postgres.js does for a multi-host URL.
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

/** Spread into connectPostgres options on Node: no-delay sockets, and COPY for page writes. */
export const nodePostgresOptions = { socket: noDelaySocket, copy: true } as const
