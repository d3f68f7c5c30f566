/**
 * Git's pkt-line framing (four hex digits of length, then the payload) and the side-band that carries the pack,
 * for the smart-HTTP client: the reader is strict, because a malformed response means a broken or hostile remote.
 */

export function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload]);
}

export const FLUSH_PKT = Buffer.from('0000', 'latin1');

/** One packet: its payload, or null for a flush (0000), delimiter (0001) or response-end (0002) packet. */
export type Packet = Buffer | null;

export function* readPackets(body: Buffer, start = 0): Generator<{ packet: Packet; end: number }> {
  let at = start;
  while (at < body.length) {
    if (at + 4 > body.length) throw new Error(`truncated pkt-line at byte ${at} of ${body.length}`);
    const hex = body.toString('latin1', at, at + 4);
    const length = Number.parseInt(hex, 16);
    if (!/^[0-9a-f]{4}$/i.test(hex) || (length > 2 && length < 4))
      throw new Error(`malformed pkt-line length ${JSON.stringify(hex)} at byte ${at}`);
    if (length <= 2) {
      at += 4;
      yield { packet: null, end: at };
      continue;
    }
    if (at + length > body.length) throw new Error(`truncated pkt-line at byte ${at}: ${length} bytes announced`);
    const packet = body.subarray(at + 4, at + length);
    at += length;
    yield { packet, end: at };
  }
}

export function packetText(packet: Buffer): string {
  return packet.toString('utf8').replace(/\n$/, '');
}
