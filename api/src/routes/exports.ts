import { Hono } from 'hono'
import type { AppEnv } from '../http/types'
import { requireViewer } from '../auth/middleware'
import { audit } from '../auth/audit'
import { clientIp } from '../auth/security'
import { exportQuery } from '#shared/contracts/deals'
import { requestContext } from '../analytics/context'
import { exportDealsCsv } from '../analytics/export'
import { reportUnhandled } from '../http/errors'

export const exportsRoute = new Hono<AppEnv>().get('/exports/deals.csv', requireViewer, async (c) => {
  const q = exportQuery.parse(c.req.query())
  const ctx = await requestContext(c)
  const chunks = await exportDealsCsv(ctx, q)
  // The IP as clientIp() sees it (on Node the socket's peer, or the proxy's X-Forwarded-For entry
  // when TRUST_PROXY_HOPS says a proxy is trusted; Cloudflare's header on Workers), never a header
  // the client chose.
  await audit(c.var.db, {
    orgId: ctx.org.id,
    actorUserId: ctx.viewer.userId,
    action: 'export',
    target: 'deals.csv',
    details: { filters: q },
    ip: clientIp(c),
  })
  c.header('content-type', 'text/csv; charset=utf-8')
  c.header('content-disposition', `attachment; filename="deals-${ctx.today}.csv"`)
  c.header('cache-control', 'no-store')
  return c.body(
    pullStream(chunks, (err) => reportUnhandled(c, err, 'csv export failed after the first rows were sent')),
  )
})

/**
 * The body as a pull stream: the runtime pulls a chunk when its socket has taken the previous one,
 * and only then is the next batch read, so a slow download holds a batch or two, not the file, and
 * a client that goes away cancels the stream (no further batches are read).
 *
 * A batch that fails once the 200 and the first rows are out errors the stream: the runtime then
 * drops the connection without the chunked body's end, so the browser marks the download failed
 * (and fetch's blob() rejects). Closing it normally would hand the user a file that ends early on a
 * whole row, a short export that looks complete.
 */
function pullStream(
  chunks: AsyncGenerator<string>,
  onError: (err: unknown) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next()
          if (next.done) controller.close()
          else controller.enqueue(encoder.encode(next.value))
        } catch (err) {
          onError(err)
          controller.error(err)
        }
      },
      async cancel() {
        await chunks.return(undefined)
      },
    },
    // No read-ahead: a batch is read only for a read the runtime has asked for, so the error above
    // always fails a pending read. Node's adapter then destroys the socket; with a chunk read ahead
    // while it waited for the socket to drain, it saw the stream close with an error first and
    // ended the body cleanly with "Error: <message>" as its last line.
    { highWaterMark: 0 },
  )
}
