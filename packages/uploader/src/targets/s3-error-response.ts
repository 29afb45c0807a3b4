/**
 * An S3 error response (REST error XML, "Error Responses" in the S3 API reference) turned into the
 * S3ServiceException the SDK would throw for it: `name` is the store's code (SlowDown,
 * AccessDenied, PermanentRedirect, RequestTimeout…), `message` its Message, `$fault` server for
 * 5xx, `$metadata` the status and request ids; the other elements of <Error> (Code, RequestId,
 * HostId, Endpoint, Bucket…) are fields, as the SDK sets them. A response without a body (a HEAD,
 * a bare 307) is `Unknown` / `UnknownError`, again as the SDK names it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { S3ServiceException } from '@aws-sdk/client-s3';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e],
  );
}

/** The simple child elements of the <Error> element, in order. */
export function errorFields(body: string): Record<string, string> {
  const error = /<Error>([\s\S]*)<\/Error>/.exec(body)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of error.matchAll(/<([A-Za-z][\w.-]*)>([^<]*)<\/\1>/g)) fields[m[1]] = xmlText(m[2]);
  return fields;
}

const header = (h: IncomingHttpHeaders, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

export function s3ErrorFromResponse(status: number, headers: IncomingHttpHeaders, body: string): S3ServiceException {
  const fields = errorFields(body);
  const code = fields.Code;
  const err = new S3ServiceException({
    name: code ?? 'Unknown',
    $fault: status >= 500 ? 'server' : 'client',
    message: fields.Message ?? (code ? code : 'UnknownError'),
    $metadata: {
      httpStatusCode: status,
      requestId: header(headers, 'x-amz-request-id') ?? fields.RequestId,
      extendedRequestId: header(headers, 'x-amz-id-2') ?? fields.HostId,
      cfId: header(headers, 'x-amz-cf-id'),
      attempts: 1,
      totalRetryDelay: 0,
    },
  });
  for (const [k, v] of Object.entries(fields)) {
    if (k !== 'Message') (err as unknown as Record<string, string>)[k] = v;
  }
  return err;
}
