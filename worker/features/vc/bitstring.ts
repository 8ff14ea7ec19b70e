import { toBase64Url } from '../../platform/encoding.ts';

/** 16 KiB: the W3C Bitstring Status List minimum, so that one list hides each holder among 131,072. */
export const STATUS_LIST_BITS = 131_072;

/**
 * The `encodedList` of a Bitstring Status List: the bitstring (bit 0 is the most significant bit of the
 * first byte) GZIP-compressed (RFC 1952), base64url without padding, with the Multibase prefix `u`.
 * Throws TypeError for a size that is not whole bytes or an index outside the list.
 */
export async function encodeStatusList(sizeBits: number, setIndexes: Iterable<number>): Promise<string> {
  if (!Number.isInteger(sizeBits) || sizeBits <= 0 || sizeBits % 8 !== 0)
    throw new TypeError('sizeBits must be a positive multiple of 8');
  const bits = new Uint8Array(sizeBits / 8);
  for (const i of setIndexes) {
    if (!Number.isInteger(i) || i < 0 || i >= sizeBits) throw new TypeError(`status index ${i} is outside the list`);
    bits[i >> 3]! |= 0x80 >> (i & 7);
  }
  const gzipped = await new Response(
    new Blob([bits]).stream().pipeThrough(new CompressionStream('gzip')),
  ).arrayBuffer();
  return `u${toBase64Url(new Uint8Array(gzipped))}`;
}
