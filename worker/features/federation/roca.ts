/**
 * ROCA fingerprint (CVE-2017-15361): RSA moduli made by the vulnerable Infineon library have primes of the
 * form k·M + (65537^a mod M), so for each small prime r the modulus mod r lies in the subgroup generated
 * by 65537 mod r. A random modulus passes that test for all 38 primes with negligible probability.
 * Method as in the authors' detector (crocs-muni/roca); the subgroups are computed here, not copied.
 */
const PRIMES = [
  3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113,
  127, 131, 137, 139, 149, 151, 157, 163, 167,
];

// Immutable lookup table, computed once per isolate.
const SUBGROUPS: ReadonlyArray<ReadonlySet<number>> = PRIMES.map((p) => {
  const g = 65537 % p;
  const members = new Set<number>();
  for (let x = 1; !members.has(x); x = (x * g) % p) members.add(x);
  return members;
});

/** True when the modulus (big-endian bytes) carries the ROCA fingerprint. */
export function hasRocaFingerprint(modulus: Uint8Array): boolean {
  for (let i = 0; i < PRIMES.length; i++) {
    const p = PRIMES[i]!;
    let rem = 0;
    for (const byte of modulus) rem = (rem * 256 + byte) % p;
    if (!SUBGROUPS[i]!.has(rem)) return false;
  }
  return true;
}
