/**
 * Masks as the database and the artifact store keep them: packed bits, bit i of the prunable
 * weights in layer order, least significant bit first within each byte. The engine packs its
 * masks (one 0/1 byte per weight, per prunable tensor) with these, the server reads them back.
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

/** Packs a mask into bits (LSB first within each byte), layers concatenated. */
export function packMask(mask: readonly Uint8Array[]): Uint8Array {
  const total = mask.reduce((sum, layer) => sum + layer.length, 0);
  const bits = new Uint8Array(Math.ceil(total / 8));
  let offset = 0;
  for (const layer of mask) {
    for (let j = 0; j < layer.length; j++, offset++) if (layer[j]) bits[offset >> 3]! |= 1 << (offset & 7);
  }
  return bits;
}

export function unpackMask(bits: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (bits.length !== Math.ceil(total / 8)) throw new Error(`mask has ${bits.length} bytes, expected ${Math.ceil(total / 8)} for ${total} weights`);
  let offset = 0;
  return sizes.map((size) => {
    const layer = new Uint8Array(size);
    for (let j = 0; j < size; j++, offset++) layer[j] = (bits[offset >> 3]! >> (offset & 7)) & 1;
    return layer;
  });
}
