/**
 * Pack index files (version 2, the format git and isomorphic-git read): written from a parsed pack, read to
 * find an object's offset by binary search. The index's own trailing checksum is verified when it is opened.
 */
import crypto from 'node:crypto';
import { CorruptPackError } from './pack';

const MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);

export interface IndexEntry {
  oid: string;
  offset: number;
  crc: number;
}

export function writePackIndex(entries: IndexEntry[], packChecksum: string): Buffer {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const out = Buffer.alloc(8 + 1024 + n * 28 + large.length * 8 + 40);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(2, 4);
  const counts = new Array<number>(256).fill(0);
  for (const e of sorted) counts[Number.parseInt(e.oid.slice(0, 2), 16)]++;
  let running = 0;
  for (let i = 0; i < 256; i++) out.writeUInt32BE((running += counts[i]), 8 + i * 4);
  const oids = 8 + 1024;
  const crcs = oids + n * 20;
  const offsets = crcs + n * 4;
  const largeOffsets = offsets + n * 4;
  let largeIndex = 0;
  sorted.forEach((e, i) => {
    out.write(e.oid, oids + i * 20, 'hex');
    out.writeUInt32BE(e.crc >>> 0, crcs + i * 4);
    if (e.offset < 0x80000000) out.writeUInt32BE(e.offset, offsets + i * 4);
    else {
      out.writeUInt32BE((0x80000000 | largeIndex) >>> 0, offsets + i * 4);
      out.writeBigUInt64BE(BigInt(e.offset), largeOffsets + largeIndex++ * 8);
    }
  });
  const trailer = largeOffsets + large.length * 8;
  out.write(packChecksum, trailer, 'hex');
  crypto
    .createHash('sha1')
    .update(out.subarray(0, trailer + 20))
    .digest()
    .copy(out, trailer + 20);
  return out;
}

export class PackIndex {
  readonly count: number;
  /** The checksum of the pack this index describes, hex. */
  readonly packChecksum: string;

  private constructor(private readonly idx: Buffer) {
    this.count = idx.readUInt32BE(8 + 255 * 4);
    this.packChecksum = idx.toString('hex', idx.length - 40, idx.length - 20);
  }

  static open(idx: Buffer, label: string): PackIndex {
    if (idx.length < 8 + 1024 + 40 || !idx.subarray(0, 4).equals(MAGIC) || idx.readUInt32BE(4) !== 2)
      throw new CorruptPackError(`${label}: not a version 2 pack index`);
    const actual = crypto
      .createHash('sha1')
      .update(idx.subarray(0, idx.length - 20))
      .digest();
    if (!actual.equals(idx.subarray(idx.length - 20)))
      throw new CorruptPackError(`${label}: index checksum does not match`);
    const index = new PackIndex(idx);
    if (idx.length < 8 + 1024 + index.count * 28 + 40) throw new CorruptPackError(`${label}: index is truncated`);
    return index;
  }

  offsetOf(oid: string): number | undefined {
    const key = Buffer.from(oid, 'hex');
    const first = key[0];
    let lo = first === 0 ? 0 : this.idx.readUInt32BE(8 + (first - 1) * 4);
    let hi = this.idx.readUInt32BE(8 + first * 4);
    const oids = 8 + 1024;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = this.idx.compare(key, 0, 20, oids + mid * 20, oids + mid * 20 + 20);
      if (cmp === 0) return this.offsetAt(mid);
      if (cmp > 0) hi = mid;
      else lo = mid + 1;
    }
    return undefined;
  }

  private offsetAt(i: number): number {
    const offsets = 8 + 1024 + this.count * 24;
    const value = this.idx.readUInt32BE(offsets + i * 4);
    if (!(value & 0x80000000)) return value;
    return Number(this.idx.readBigUInt64BE(offsets + this.count * 4 + (value & 0x7fffffff) * 8));
  }
}
