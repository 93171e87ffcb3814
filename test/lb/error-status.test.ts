/**
 * Every failure-to-status rule in one table (lb/error-status.ts): upstream
 * codes from sockets, upstream-connection.ts, upstream-pool.ts and llhttp,
 * and Node's client-side parser errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RETRY_REASONS, classifyClientError, classifyUpstreamError } from '../../lb/error-status.js';

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
  it('431 for header overflow, 408 for a header timeout, 400 for anything else', () => {
    assert.deepEqual(classifyClientError('HPE_HEADER_OVERFLOW'), { status: 431, kind: 'headers_too_large' });
    assert.deepEqual(classifyClientError('ERR_HTTP_REQUEST_TIMEOUT'), { status: 408, kind: 'timeout' });
    assert.deepEqual(classifyClientError('HPE_INVALID_METHOD'), { status: 400, kind: 'bad_request' });
    assert.deepEqual(classifyClientError(undefined), { status: 400, kind: 'bad_request' });
  });
});
