/**
 * With --log-json every line the uploader writes to stderr is a JSON log line: no notice from a
 * library (the AWS SDK's Node version notice on Node 20) breaks a log collector's parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUploader } from '../support/uploader-process';

test('the uploader writes only JSON lines to stderr, from start to stop, with an S3 target', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED')) as Record<string, string>;
  const up = await startUploader(['--target', 's3:', '--s3-endpoint', 'http://127.0.0.1:9', '--s3-path-style'], env);
  assert.equal(await up.stop(), 0, up.stderr());
  const lines = up.stderr().split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 2);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
});
