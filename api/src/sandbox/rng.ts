/**
 * Deterministic pseudo-randomness for the sandbox: every value is a pure function of its inputs
 * (seed, index, salt), so deal i can be computed without generating deals 0..i-1.
 */

type Part = number | string

/** 32-bit integer hash of any number of integer/string parts (murmur3-style finaliser). */
export function hash32(...parts: Part[]): number {
  return hashOf(parts)
}

// unit and pickIndex hand their parts array straight on rather than spreading it again: ~25 calls
// per generated deal.
function hashOf(parts: readonly Part[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    if (typeof p === 'number') {
      // Mix the low and high 32 bits so large indices and seeds both matter.
      h = mix(h ^ (p >>> 0))
      h = mix(h ^ Math.floor(p / 0x100000000))
    } else {
      for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193)
      h = mix(h)
    }
  }
  return h >>> 0
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** Uniform float in [0, 1) from the parts. */
export function unit(...parts: Part[]): number {
  return hashOf(parts) / 0x100000000
}

/** Integer in [0, n) from the parts. */
export function pickIndex(n: number, ...parts: Part[]): number {
  return Math.floor((hashOf(parts) / 0x100000000) * n)
}

/** A small stateful generator (mulberry32) for sequences such as fault draws and random mutations. */
export function sequence(seed: number): () => number {
  let a = hash32(seed, 'sequence')
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000
  }
}
