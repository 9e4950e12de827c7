/**
 * Masks as the database and the artifact store keep them: packed bits, bit i of the prunable
 * weights in layer order, least significant bit first within each byte (the engine's packMask).
 */

/** Set bits among the first `total`; throws when the bitset is not ceil(total / 8) bytes. */
export function aliveInMask(bits: Uint8Array, total: number): number {
  if (bits.length !== Math.ceil(total / 8)) throw new Error(`mask has ${bits.length} bytes, expected ${Math.ceil(total / 8)} for ${total} weights`);
  let alive = 0;
  for (let i = 0; i < bits.length; i++) {
    let byte = bits[i]!;
    // Bits past `total` in the last byte are padding.
    if (i === bits.length - 1 && total % 8 !== 0) byte &= (1 << total % 8) - 1;
    while (byte !== 0) {
      byte &= byte - 1;
      alive++;
    }
  }
  return alive;
}

/** The dense mask of `total` weights (cycle 0 trains under it). */
export function denseMaskBits(total: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(total / 8)).fill(0xff);
  if (total % 8 !== 0) bits[bits.length - 1] = (1 << total % 8) - 1;
  return bits;
}
