/**
 * True for a host or peer address on this machine: localhost, 127.0.0.0/8, ::1 (bracketed as in a
 * URL, or IPv4-mapped as a socket reports it).
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false
  const h = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/^::ffff:/, '')
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
