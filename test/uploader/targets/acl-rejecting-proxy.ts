/**
 * A small HTTP proxy in front of s3rver (which ignores ACLs) that answers like a bucket with
 * Object Ownership "bucket owner enforced": any request carrying an ACL gets S3's 400
 * AccessControlListNotSupported; everything else is passed through. Every request is recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** S3's answer to a PutObject with x-amz-acl on a bucket that takes no ACLs. */
const REFUSAL = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessControlListNotSupported</Code><Message>The bucket does not allow ACLs</Message><RequestId>TEST</RequestId><HostId>TEST</HostId></Error>`;

export interface AclRejectingProxy {
  endpoint: string;
  /** `METHOD path` of every request, in order, with ` acl` when it carried one. */
  requests: string[];
  close(): Promise<void>;
}

export async function startAclRejectingProxy(storeEndpoint: string): Promise<AclRejectingProxy> {
  const store = new URL(storeEndpoint);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const acl = req.headers['x-amz-acl'] !== undefined || req.headers['x-amz-grant-read'] !== undefined;
    requests.push(`${req.method} ${(req.url ?? '').replace(/\?.*/, '')}${acl ? ' acl' : ''}`);
    if (acl) {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/xml' }).end(REFUSAL);
      return;
    }
    const upstream = http.request(
      { host: store.hostname, port: store.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
