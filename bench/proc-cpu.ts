import { readdirSync, readFileSync } from 'node:fs'

/*
 * CPU time of other processes on this machine, from Linux /proc, so the bench can say where a full
 * sync's CPU went: the sync itself, PostgreSQL and the sandbox Zoho share the same cores.
 * Times are clock ticks, taken as 10 ms (USER_HZ is 100 on Linux builds).
 */

const TICK_MS = 10

/** [ppid, own ticks, reaped children's ticks] from /proc/<pid>/stat, or null if it is gone. */
function stat(pid: number): [number, number, number] | null {
  try {
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return [Number(f[1]), Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])]
  } catch {
    return null
  }
}

/** CPU ms a process has used so far (its own threads), or null when it cannot be read. */
export function processCpuMs(pid: number): number | null {
  const s = stat(pid)
  return s ? s[1] * TICK_MS : null
}

/**
 * CPU ms used so far by a server and every process it started, live or exited: a PostgreSQL
 * backend exits with its connection, and its time then counts in the postmaster's reaped total.
 */
export function processTreeCpuMs(root: number): number | null {
  const r = stat(root)
  if (!r) return null
  let ticks = r[1] + r[2]
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = stat(Number(name))
    if (s && s[0] === root) ticks += s[1]
  }
  return ticks * TICK_MS
}

/** Whether a database URL points at this machine, whose processes /proc can see. */
export const isLocalDatabase = (url: string): boolean => /@(127\.0\.0\.1|localhost)[:/]/.test(url)

/** The parent pid of a process (a PostgreSQL backend's parent is the postmaster). */
export function parentPid(pid: number): number | null {
  return stat(pid)?.[0] ?? null
}
