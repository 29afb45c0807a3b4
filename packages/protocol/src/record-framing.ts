/**
 * How both daemons keep records on disk (the uploader's journal, the segmenter's spool): one
 * record per line, `<crc32 as 8 hex digits> <payload>\n`, appended and fsync'd.
 *
 * A crash can leave only the last record torn (cut short, or with garbage from a half-written
 * sector): the checksum and the missing newline tell. Decoding stops at the first record that
 * does not check out, so nothing after a damaged spot is trusted, and reports how many bytes
 * were good so the file can be cut back to them before appending again.
 */
import { crc32 } from 'node:zlib';
import { ProtocolError } from './index-message';

/** One record, ready to append. The payload must be one line. */
export function encodeRecord(payload: string): Buffer {
  if (/[\r\n]/.test(payload)) throw new ProtocolError('a record payload must be one line');
  const body = Buffer.from(payload, 'utf8');
  const head = crc32(body).toString(16).padStart(8, '0');
  return Buffer.concat([Buffer.from(head + ' ', 'latin1'), body, Buffer.from('\n', 'latin1')]);
}

export interface DecodedRecords {
  payloads: string[];
  /** Bytes of whole, checked records from the start; the file should be cut to this length. */
  validBytes: number;
  /** Bytes after validBytes that were ignored (a torn or damaged tail). */
  ignoredBytes: number;
}

export function decodeRecords(bytes: Uint8Array): DecodedRecords {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: string[] = [];
  let offset = 0;
  for (let nl = buf.indexOf(0x0a, offset); nl !== -1; nl = buf.indexOf(0x0a, offset)) {
    const line = buf.subarray(offset, nl);
    if (line.length < 9 || line[8] !== 0x20) break;
    const expected = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
    const body = line.subarray(9);
    if (!/^[0-9a-f]{8}$/.test(line.subarray(0, 8).toString('latin1')) || crc32(body) !== expected) break;
    payloads.push(body.toString('utf8'));
    offset = nl + 1;
  }
  return { payloads, validBytes: offset, ignoredBytes: buf.length - offset };
}
