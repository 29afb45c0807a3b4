import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTlsRequired, isTlsRecord, recogniseForeignPeer, startsTlsHandshake } from '@hlsrelay/protocol';

const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

test('TLS records are told apart by their header (content type, major version 3)', () => {
  assert.equal(isTlsRecord(bytes(0x16, 0x03, 0x01, 0x02, 0x00)), true, 'a ClientHello');
  assert.equal(isTlsRecord(bytes(0x15, 0x03, 0x03, 0x00, 0x02)), true, 'an alert');
  assert.equal(isTlsRecord(bytes(0x16)), true, 'a first byte alone');
  assert.equal(isTlsRecord(bytes(0x16, 0x20)), false);
  assert.equal(isTlsRecord(ascii('s.m3u8, /tmp')), false, 'an index message never starts like one');
  assert.equal(startsTlsHandshake(bytes(0x16, 0x03)), true);
  assert.equal(startsTlsHandshake(bytes(0x15, 0x03)), false);
});

test('what a wrong peer is, and the fix', () => {
  const table: Array<[Uint8Array, RegExp, RegExp]> = [
    [bytes(0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46), /^a TLS server/, /--tls-ca FILE/],
    [ascii(formatTlsRequired() + '\n'), /takes TLS only on this port/, /--tls-ca FILE/],
    [ascii('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'), /^an HTTP server \("HTTP\/1\.1 400 Bad Request": the uploader's status port, or the S3 endpoint\?\)$/, /index port/],
    [ascii('SSH-2.0-OpenSSH_9.2\r\n'), /^an SSH server \("SSH-2\.0-OpenSSH_9\.2"\)$/, /index port/],
    [ascii('220 ftp ready\r\n'), /FTP or SMTP server/, /index port/],
    [ascii('hello\x00\x01\n'), /^a peer that is not an uploader \(it sent "hello\\x00\\x01"\)$/, /index port/],
  ];
  for (const [input, what, fix] of table) {
    const peer = recogniseForeignPeer(input);
    assert.match(peer.what, what);
    assert.match(peer.fix, fix);
  }
});
