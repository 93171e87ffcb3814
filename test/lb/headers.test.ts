import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUpstreamHeaders, type RequestHeaderInfo } from '../../lb/headers.js';

const info = (): RequestHeaderInfo => ({ hasBody: false, hashKey: undefined, chunked: false, hasHost: false });

test('Content-Length is forwarded in canonical form, and a zero length in any spelling means no body', () => {
  const cases: [string, string, boolean][] = [
    ['03', '3', true],
    ['0003000', '3000', true],
    ['3', '3', true],
    ['0', '0', false],
    ['000', '0', false],
  ];
  for (const [sent, forwarded, hasBody] of cases) {
    const i = info();
    const out = buildUpstreamHeaders(['Host', 'h', 'Content-Length', sent], '127.0.0.1', undefined, i);
    assert.equal(out[out.indexOf('Content-Length') + 1], forwarded, `Content-Length: ${sent}`);
    assert.equal(i.hasBody, hasBody, `hasBody for Content-Length: ${sent}`);
  }
});
