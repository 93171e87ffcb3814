/**
 * Every failure-to-status rule in one table (lb/error-status.ts): upstream
 * codes from sockets, upstream-connection.ts, upstream-pool.ts and llhttp,
 * and Node's client-side parser errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRefusal, RETRY_REASONS, classifyClientError, classifyUpstreamError, rawErrorResponse } from '../../lb/error-status.js';

describe('classifyUpstreamError', () => {
  const table: [code: string, status: number, kind: string, retry: string | null, neverReached: boolean, passive: boolean][] = [
    ['ECONNREFUSED', 502, 'connect', 'connect', true, true],
    ['EHOSTUNREACH', 502, 'connect', 'connect', true, false],
    ['LBB_ERR_CONNECT_TIMEOUT', 504, 'timeout', 'timeout', true, false],
    ['LBB_ERR_HEADERS_TIMEOUT', 504, 'timeout', 'timeout', false, false],
    ['LBB_ERR_BODY_TIMEOUT', 504, 'timeout', 'timeout', false, false],
    ['ECONNRESET', 502, 'upstream_reset', 'upstream_reset', false, true],
    ['LBB_ERR_UPSTREAM_CLOSED', 502, 'upstream_reset', 'upstream_reset', false, true],
    ['LBB_ERR_POOL_CLOSED', 502, 'connect', 'closed', true, false],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 502, 'bad_response', 'bad_response', false, false],
    ['HPE_HEADER_OVERFLOW', 502, 'bad_response', 'bad_response', false, false],
    ['LBB_ERR_UPSTREAM_UNSOLICITED', 502, 'bad_response', 'bad_response', false, false],
    ['ERR_INVALID_CHAR', 502, 'bad_response', 'bad_response', false, false],
    ['LBB_ERR_INVALID_RESPONSE_HEAD', 502, 'bad_response', 'bad_response', false, false],
    ['LBB_ERR_POOL_QUEUE_FULL', 503, 'overload', null, true, false],
    ['LBB_ERR_REQUEST_DEADLINE', 504, 'deadline', null, false, false],
  ];
  for (const [code, status, kind, retry, neverReached, passive] of table) {
    it(`${code} -> ${status} ${kind}`, () => {
      const f = classifyUpstreamError({ code });
      assert.deepEqual(
        { status: f.status, kind: f.kind, retry: f.retryReason < 0 ? null : RETRY_REASONS[f.retryReason], neverReached: f.neverReached, passive: f.passive },
        { status, kind, retry, neverReached, passive },
      );
    });
  }

  it('budget-exempt exactly when the connection never came up', () => {
    const exempt = ['ECONNREFUSED', 'EHOSTUNREACH', 'LBB_ERR_CONNECT_TIMEOUT', 'LBB_ERR_POOL_CLOSED'];
    for (const code of ['LBB_ERR_HEADERS_TIMEOUT', 'ECONNRESET', 'LBB_ERR_UPSTREAM_CLOSED', 'HPE_INVALID_CONSTANT', ...exempt])
      assert.equal(classifyUpstreamError({ code }).budgetExempt, exempt.includes(code), code);
  });

  it('never throws on odd input', () => {
    for (const odd of [null, undefined, 42, 'text', {}]) assert.equal(classifyUpstreamError(odd).status, 502);
  });
});

describe('classifyClientError', () => {
  it('431 for header overflow, 505 for a bad version, 400 for anything else (CL+TE included)', () => {
    assert.deepEqual(classifyClientError('HPE_HEADER_OVERFLOW'), { status: 431, kind: 'headers_too_large' });
    assert.deepEqual(classifyClientError('HPE_INVALID_VERSION'), { status: 505, kind: 'bad_request' });
    assert.deepEqual(classifyClientError('HPE_INVALID_TRANSFER_ENCODING'), { status: 400, kind: 'bad_request' });
    assert.deepEqual(classifyClientError('HPE_INVALID_METHOD'), { status: 400, kind: 'bad_request' });
    assert.deepEqual(classifyClientError(undefined), { status: 400, kind: 'bad_request' });
  });
});

describe('ClientRefusal', () => {
  it('maps every client-side refusal to its status and error kind', () => {
    const got = Object.fromEntries(Object.entries(ClientRefusal).map(([k, v]) => [k, `${v.status} ${v.kind}`]));
    assert.deepEqual(got, {
      malformed: '400 bad_request',
      headersTimeout: '408 timeout',
      bodyTimeout: '408 timeout',
      sendTimeout: '408 timeout',
      bodyTooLarge: '413 body_too_large',
      expectationFailed: '417 bad_request',
      headersTooLarge: '431 headers_too_large',
      notImplemented: '501 bad_request',
      overloaded: '503 overload',
      versionNotSupported: '505 bad_request',
    });
  });

  it('pre-builds each raw refusal once, with Connection: close and a matching length', () => {
    for (const { status } of Object.values(ClientRefusal)) {
      const raw = rawErrorResponse(status);
      assert.equal(raw, rawErrorResponse(status));
      const text = raw.toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(head, /\r\nConnection: close(\r\n|$)/);
      assert.equal(Number(/Content-Length: (\d+)/.exec(head)?.[1]), Buffer.byteLength(body));
    }
  });
});
