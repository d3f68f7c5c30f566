/**
 * Git pack files read without isomorphic-git: a fetched pack is parsed once (every object inflated, deltas
 * resolved, its SHA-1 computed from the content), and a cached pack is read object by object through its index.
 * The trailing checksum is always checked, so a damaged pack is refused rather than used.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

export interface ParsedObject extends GitObject {
  oid: string;
  offset: number;
  /** CRC-32 of the object's bytes in the pack, as a pack index records it. */
  crc: number;
}

export interface ParsedPack {
  objects: ParsedObject[];
  /** The pack's trailing SHA-1, hex. */
  checksum: string;
}

/** A pack is damaged, or an object in it is not what its name says; the cache drops what holds it. */
export class CorruptPackError extends Error {}

export function objectId(type: ObjectType, data: Buffer): string {
  return crypto.createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
}

export function verifyPackChecksum(pack: Buffer, label: string): string {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK')
    throw new CorruptPackError(`${label}: not a git pack file`);
  const body = pack.subarray(0, pack.length - 20);
  const expected = pack.subarray(pack.length - 20);
  const actual = crypto.createHash('sha1').update(body).digest();
  if (!actual.equals(expected)) throw new CorruptPackError(`${label}: the pack's SHA-1 checksum does not match`);
  return actual.toString('hex');
}

interface EntryHeader {
  typeCode: number;
  size: number;
  dataStart: number;
  baseOffset?: number;
  baseOid?: string;
}

function readEntryHeader(pack: Buffer, offset: number, label: string): EntryHeader {
  let at = offset;
  let byte = pack[at++];
  const typeCode = (byte >> 4) & 7;
  let size = byte & 15;
  let shift = 4;
  while (byte & 0x80) {
    byte = pack[at++];
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (typeCode === OFS_DELTA) {
    byte = pack[at++];
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = pack[at++];
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    if (distance <= 0 || distance > offset) throw new CorruptPackError(`${label}: a delta at ${offset} points outside`);
    return { typeCode, size, dataStart: at, baseOffset: offset - distance };
  }
  if (typeCode === REF_DELTA) return { typeCode, size, dataStart: at + 20, baseOid: pack.toString('hex', at, at + 20) };
  if (!TYPES[typeCode]) throw new CorruptPackError(`${label}: unknown object type ${typeCode} at ${offset}`);
  return { typeCode, size, dataStart: at };
}

function inflateAt(pack: Buffer, header: EntryHeader, label: string): { data: Buffer; end: number } {
  try {
    const { buffer, engine } = zlib.inflateSync(pack.subarray(header.dataStart, pack.length - 20), {
      info: true,
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (buffer.length !== header.size) throw new Error(`inflated to ${buffer.length} bytes, not ${header.size}`);
    return { data: buffer, end: header.dataStart + engine.bytesWritten };
  } catch (err) {
    throw new CorruptPackError(`${label}: object at ${header.dataStart} does not inflate: ${(err as Error).message}`);
  }
}

function varint(delta: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = delta[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

export function applyDelta(base: Buffer, delta: Buffer, label = 'delta'): Buffer {
  const [sourceSize, afterSource] = varint(delta, 0);
  if (sourceSize !== base.length)
    throw new CorruptPackError(`${label}: delta base is ${base.length} bytes, not ${sourceSize}`);
  const [targetSize, afterTarget] = varint(delta, afterSource);
  let at = afterTarget;
  const out = Buffer.allocUnsafe(targetSize);
  let written = 0;
  while (at < delta.length) {
    const op = delta[at++];
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset |= delta[at++] << (8 * i);
      for (let i = 0; i < 3; i++) if (op & (16 << i)) size |= delta[at++] << (8 * i);
      offset >>>= 0;
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || written + size > targetSize)
        throw new CorruptPackError(`${label}: delta copies outside its base`);
      base.copy(out, written, offset, offset + size);
      written += size;
    } else if (op) {
      if (written + op > targetSize || at + op > delta.length) throw new CorruptPackError(`${label}: delta overflows`);
      delta.copy(out, written, at, at + op);
      written += op;
      at += op;
    } else throw new CorruptPackError(`${label}: delta has a reserved opcode`);
  }
  if (written !== targetSize) throw new CorruptPackError(`${label}: delta made ${written} bytes, not ${targetSize}`);
  return out;
}

/** Parses a whole pack: its checksum, every object, deltas resolved (bases outside the pack from `external`). */
export function parsePack(
  pack: Buffer,
  label: string,
  external: (oid: string) => GitObject | undefined = () => undefined,
): ParsedPack {
  const checksum = verifyPackChecksum(pack, label);
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new CorruptPackError(`${label}: pack version ${version} is not 2 or 3`);
  const count = pack.readUInt32BE(8);
  const byOffset = new Map<number, ParsedObject>();
  const byOid = new Map<string, ParsedObject>();
  const objects: ParsedObject[] = [];
  const waiting: { header: EntryHeader; delta: Buffer; offset: number; crc: number }[] = [];
  let at = 12;
  const settle = (offset: number, crc: number, type: ObjectType, data: Buffer) => {
    const object = { type, data, oid: objectId(type, data), offset, crc };
    objects.push(object);
    byOffset.set(offset, object);
    byOid.set(object.oid, object);
  };
  for (let i = 0; i < count; i++) {
    if (at >= pack.length - 20) throw new CorruptPackError(`${label}: ${count} objects announced, ${i} found`);
    const header = readEntryHeader(pack, at, label);
    const { data, end } = inflateAt(pack, header, label);
    const crc = zlib.crc32(pack.subarray(at, end));
    if (TYPES[header.typeCode]) settle(at, crc, TYPES[header.typeCode], data);
    else {
      const base = header.baseOffset !== undefined ? byOffset.get(header.baseOffset) : byOid.get(header.baseOid!);
      if (base) settle(at, crc, base.type, applyDelta(base.data, data, label));
      else waiting.push({ header, delta: data, offset: at, crc });
    }
    at = end;
  }
  if (at !== pack.length - 20)
    throw new CorruptPackError(`${label}: ${pack.length - 20 - at} stray bytes after the objects`);
  // REF_DELTA bases may come later in the pack, or (in a thin pack) from objects the caller already has.
  while (waiting.length) {
    const before = waiting.length;
    for (let i = waiting.length - 1; i >= 0; i--) {
      const { header, delta, offset, crc } = waiting[i];
      const base =
        (header.baseOffset !== undefined ? byOffset.get(header.baseOffset) : byOid.get(header.baseOid!)) ??
        (header.baseOid ? external(header.baseOid) : undefined);
      if (!base) continue;
      settle(offset, crc, base.type, applyDelta(base.data, delta, label));
      waiting.splice(i, 1);
    }
    if (waiting.length === before) throw new CorruptPackError(`${label}: ${before} deltas have no base`);
  }
  return { objects, checksum };
}

/** Reads one object of a pack by its offset, resolving its delta chain through `lookup` and `cache`. */
export function readPackedObject(
  pack: Buffer,
  offset: number,
  label: string,
  lookup: (oid: string) => GitObject | undefined,
  cache: Map<number, GitObject>,
): GitObject {
  const cached = cache.get(offset);
  if (cached) return cached;
  const header = readEntryHeader(pack, offset, label);
  const { data } = inflateAt(pack, header, label);
  let object: GitObject;
  if (TYPES[header.typeCode]) object = { type: TYPES[header.typeCode], data };
  else {
    const base =
      header.baseOffset !== undefined
        ? readPackedObject(pack, header.baseOffset, label, lookup, cache)
        : lookup(header.baseOid!);
    if (!base) throw new CorruptPackError(`${label}: the delta at ${offset} has no base ${header.baseOid}`);
    object = { type: base.type, data: applyDelta(base.data, data, label) };
  }
  cache.set(offset, object);
  return object;
}
