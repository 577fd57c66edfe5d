/**
 * Deterministic jitter: a pure function of (schedule name, scheduled instant), so every beat — and a
 * new leader after a failover — delays the same occurrence by the same amount.
 */

/** A delay in `[0, jitterMs)` for this occurrence; 0 when `jitterMs` is 0 or less. */
export function jitterFor(name: string, scheduledFor: number, jitterMs: number): number {
  if (!(jitterMs > 0)) return 0;
  return Math.floor(hashToUnit(`${name}\u0000${scheduledFor}`) * jitterMs);
}

/** A 53-bit hash of a string (two 32-bit FNV-1a-style lanes with extra mixing) mapped to [0, 1). */
export function hashToUnit(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 16;
  const high = (a >>> 0) & 0x1fffff; // 21 bits
  const low = b >>> 0; // 32 bits
  return (high * 2 ** 32 + low) / 2 ** 53;
}
