/**
 * The response fuzzer: a fuzzing backend (a raw `net` server) answers each
 * case's request with mutated bytes (response-cases.ts), the balancer sits
 * in between, and a raw client reads what it forwards. Each case must hold:
 *
 * - the client gets a well-formed response: either the backend's own,
 *   forwarded faithfully (same status, end-to-end fields and body as the
 *   strict reference read them), or the balancer's 502/504; a forwarded
 *   head may be followed by a cut only when the backend's body itself was
 *   broken, truncated or reset;
 * - a response the reference reads as complete and clean is forwarded;
 * - no answer ever belongs to another request (no desync, nothing
 *   smuggled from a previous response);
 * - afterwards the balancer's processes are alive and a normal request
 *   still gets its 200.
 */
import net from 'node:net';
import { once } from 'node:events';
import { endToEndHeaders, headerValues, parseRequests, parseResponses, type ReferenceMessage } from './http-reference.js';
import { responseBytes, responseCase, responseWrites, type ResponseCase } from './response-cases.js';
import { clientExchange, expect, probeStatus, runFuzz, startFuzzBalancer, type FuzzBalancer, type FuzzRunOptions, type FuzzRunReport } from './rig.js';

/** The body of the fuzzing backend's answer to `/normal`. */
const NORMAL_BODY = 'normal';

/** A raw backend that answers `/case/<id>` with that case's bytes and `/normal` with a valid 200. */
export interface FuzzBackend {
  url: string;
  /** Sets the case `id` answers for, and returns the exact bytes it will write. */
  arm(id: number, c: ResponseCase): Buffer;
  /** Resolves when every answer to case `id` has been written (and its after-action done), or at once if none began. */
  settled(id: number): Promise<void>;
  /** Requests for case `id` received so far. */
  hits(id: number): number;
  close(): Promise<void>;
}

export async function startFuzzBackend(): Promise<FuzzBackend> {
  const cases = new Map<number, { c: ResponseCase; bytes: Buffer; hits: number; inFlight: Set<Promise<void>> }>();
  const sockets = new Set<net.Socket>();
  const answer = async (socket: net.Socket, id: number): Promise<void> => {
    const k = cases.get(id)!;
    for (const w of responseWrites(k.c, k.bytes)) {
      if (socket.destroyed) return;
      socket.write(w);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (socket.destroyed) return;
    if (k.c.after === 'end') socket.end();
    // A reset once the bytes are on their way: the peer may still lose some (RST drops unread data).
    else if (k.c.after === 'reset') await new Promise<void>((r) => socket.write('', () => (socket.resetAndDestroy(), r())));
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let handled = 0;
    let busy: Promise<void> = Promise.resolve();
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const ref = parseRequests(buf);
      for (const m of ref.messages.slice(handled)) {
        handled++;
        const match = /^\/case\/(\d+)$/.exec(m.url);
        if (match) {
          const id = Number(match[1]);
          const k = cases.get(id);
          if (!k) continue;
          k.hits++;
          const p = (busy = busy.then(() => answer(socket, id)));
          k.inFlight.add(p);
          void p.finally(() => k.inFlight.delete(p));
        } else {
          const body = m.url === '/normal' ? NORMAL_BODY : 'not a case\n';
          busy = busy.then(() => {
            if (!socket.destroyed)
              socket.write(
                `HTTP/1.1 ${m.url === '/normal' ? 200 : 404} OK\r\nx-normal: 1\r\nContent-Length: ${body.length}\r\n\r\n${m.method === 'HEAD' ? '' : body}`,
              );
          });
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    arm(id, c) {
      const bytes = responseBytes(c, `x-fuzz-case: ${id}\r\n`);
      cases.set(id, { c, bytes, hits: 0, inFlight: new Set() });
      // Only the current and the previous case can still be answered.
      cases.delete(id - 2);
      return bytes;
    },
    async settled(id) {
      const k = cases.get(id);
      if (k) await Promise.all([...k.inFlight]);
    },
    hits: (id) => cases.get(id)?.hits ?? 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Fields the balancer adds, drops or re-frames, left out of the comparison. */
const REFRAMED = ['via', 'date', 'content-length', 'x-fuzz-case'];

function showMessage(m: ReferenceMessage): string {
  return `${m.status} [${m.headers.join('|')}] body ${JSON.stringify(m.body.toString('latin1'))}`;
}

/** Differences between the forwarded head `got` and the backend's `want`, or null. */
function sameHead(got: ReferenceMessage, want: ReferenceMessage): string | null {
  if (got.status !== want.status) return `status ${got.status} forwarded for ${want.status}`;
  const g = endToEndHeaders(got.headers, REFRAMED).join('\n');
  const w = endToEndHeaders(want.headers, REFRAMED).join('\n');
  return g === w ? null : `fields ${JSON.stringify(g)} forwarded for ${JSON.stringify(w)}`;
}

/** A property relaxed (or a case skipped) until another stream's fix lands. */
export interface PendingResponseRule {
  name: string;
  /** Why, and whose fix ends it. */
  reason: string;
  /** `skip`: the case is not run (it would take the balancer down); `no-status-close`: a close with no status is tolerated. */
  effect: 'skip' | 'no-status-close';
  applies(c: ResponseCase, ref: ReturnType<typeof parseResponses>): boolean;
}

/**
 * Rules that hold back part of the property until a fix is on main. Remove
 * an entry when its fix lands: the fuzzer then holds the balancer to the
 * whole property.
 */
export const PENDING_RESPONSE_RULES: readonly PendingResponseRule[] = [];

/** Field text (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text; a reason phrase is the same (RFC 9112 §4). */
const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A token (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether a head as the reference read it keeps to HTTP's grammar: reason phrase and values field text, names tokens. */
function headGrammarOk(m: ReferenceMessage): boolean {
  if (!FIELD_TEXT.test(m.statusText)) return false;
  for (let i = 0; i + 1 < m.headers.length; i += 2) {
    if (!TOKEN.test(m.headers[i] ?? '') || !FIELD_TEXT.test(m.headers[i + 1] ?? '')) return false;
  }
  return true;
}

/** Cases covered by a pending rule, by rule name (for the run's summary). */
export const pendingResponseCases = new Map<string, number>();

let nextCaseId = 1;

/** Runs one case and throws FuzzViolation on the first property that fails. */
export async function checkResponseCase(lb: FuzzBalancer, backend: FuzzBackend, c: ResponseCase): Promise<void> {
  const head = c.method === 'HEAD';
  const skipBody = () => head;
  const id = nextCaseId++;
  const bytes = backend.arm(id, c);
  // What a strict client reading the backend directly would see. Only a
  // clean close (FIN) ends a close-delimited body; a reset cuts it.
  const ref = parseResponses(bytes, { skipBody, closed: c.after === 'end' });
  const pending = PENDING_RESPONSE_RULES.filter((r) => r.applies(c, ref));
  for (const r of pending) pendingResponseCases.set(r.name, (pendingResponseCases.get(r.name) ?? 0) + 1);
  if (pending.some((r) => r.effect === 'skip')) return;
  const request =
    c.method === 'POST'
      ? `POST /case/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello`
      : `${c.method} /case/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const t = await clientExchange(lb.port, [Buffer.from(request, 'latin1')], {
    done: (b) => parseResponses(b, { skipBody }).messages.some((m) => !m.interim),
    lingerMs: 10,
    capMs: 3000,
  });
  await backend.settled(id);
  // A dead process explains everything after it: say so first.
  const aliveNow = await lb.alive();
  expect(aliveNow.ok, `${aliveNow.why}; the case that did it: ${JSON.stringify(JSON.stringify(c))}\n${lb.log().split('\n').slice(-8).join('\n')}`);
  const sentText = JSON.stringify(bytes.toString('latin1'));
  const ctx = `(${c.method}; backend wrote ${sentText}, then ${c.after})`;
  const got = JSON.stringify(t.received.toString('latin1').slice(0, 600));

  const refFinal = ref.messages.find((m) => !m.interim);
  // llhttp reads some heads HTTP does not allow (a control byte in the reason
  // phrase); the balancer refuses those with a 502 and must never forward them.
  const headsValid = [...ref.messages, ...(ref.partial ? [ref.partial] : [])].every(headGrammarOk);
  const clean =
    headsValid &&
    ref.end === 'complete' &&
    refFinal !== undefined &&
    refFinal.status >= 200 &&
    !refFinal.upgrade &&
    ref.messages.filter((m) => !m.interim).length === 1 &&
    c.after !== 'reset';

  const resp = parseResponses(t.received, { skipBody, closed: t.closedByPeer });
  const finals = resp.messages.filter((m) => !m.interim);
  expect(resp.end !== 'error', `the client got bytes that are not a response (${resp.error}): ${got} ${ctx}`);
  expect(finals.length <= 1, `the client got ${finals.length} responses to one request (smuggled): ${got} ${ctx}`);
  // Interim responses are not forwarded, or forwarded as they were.
  const final = finals[0];
  if (final !== undefined) {
    const tag = headerValues(final.headers, 'x-fuzz-case')[0];
    if (tag === undefined) {
      expect(
        final.status === 502 || final.status === 504,
        `the client got ${final.status} that is neither the backend's answer nor the balancer's 502/504: ${got} ${ctx}`,
      );
      expect(!clean, `a complete, clean backend response was answered ${final.status} instead of forwarded: ${got} ${ctx}`);
    } else {
      expect(tag === String(id), `the client got the answer of case ${tag}, not its own (${id}): desync ${ctx}`);
      expect(headsValid, `forwarded a head with bytes HTTP does not allow: ${got} ${ctx}`);
      expect(refFinal !== undefined && ref.messages.length > 0, `forwarded a response the strict parser did not read in the backend's bytes: ${got} ${ctx}`);
      const diff = sameHead(final, refFinal!);
      expect(diff === null, `forwarded response differs from the backend's: ${diff} ${ctx}`);
      expect(
        final.body.equals(refFinal!.body),
        `forwarded body ${JSON.stringify(final.body.toString('latin1'))} for the backend's ${JSON.stringify(refFinal!.body.toString('latin1'))} ${ctx}`,
      );
      expect(ref.messages.indexOf(refFinal!) === ref.messages.findIndex((m) => !m.interim), `forwarded a later message as the answer ${ctx}`);
    }
  } else {
    // No final response: a forwarded head then a cut, or nothing at all.
    expect(t.closedByPeer, `no answer within 3 s and the connection still open: ${got} ${ctx}`);
    const partial = resp.partial;
    if (partial === undefined && t.received.length === 0 && pending.some((r) => r.effect === 'no-status-close')) return;
    expect(partial !== undefined, `the connection was closed with no status: ${got} ${ctx}`);
    const tag = headerValues(partial!.headers, 'x-fuzz-case')[0];
    expect(tag === String(id), `a cut response that is not this case's (${tag ?? 'untagged'}): ${got} ${ctx}`);
    expect(headsValid, `forwarded a head with bytes HTTP does not allow: ${got} ${ctx}`);
    expect(!clean, `a complete, clean backend response was cut: ${got} ${ctx}`);
    const refHead = ref.partial ?? refFinal;
    expect(refHead !== undefined, `forwarded a head the strict parser did not read: ${got} ${ctx}`);
    const diff = sameHead(partial!, refHead!);
    expect(diff === null, `forwarded head differs from the backend's: ${diff} (backend ${showMessage(refHead!)}) ${ctx}`);
    expect(
      refHead!.body.subarray(0, partial!.body.length).equals(partial!.body),
      `forwarded body prefix ${JSON.stringify(partial!.body.toString('latin1'))} is not the backend's ${ctx}`,
    );
  }
  expect(backend.hits(id) <= 1, `the request reached the backend ${backend.hits(id)} times with retries off ${ctx}`);

  const probe = await probeStatus(lb.port, '/normal');
  expect(
    probe.status === 200 && probe.text.endsWith(NORMAL_BODY),
    `a normal GET afterwards got ${probe.status || 'nothing'}: ${JSON.stringify(probe.text)} ${ctx}`,
  );
  const alive = await lb.alive();
  expect(alive.ok, `${alive.why} ${ctx}`);
}

/** Starts a fuzzing backend and a balancer, fuzzes responses (`opts.maxRuns` cases, or until `opts.timeLimitMs`), stops both. */
export async function fuzzResponses(opts: FuzzRunOptions): Promise<FuzzRunReport> {
  const backend = await startFuzzBackend();
  let lb: FuzzBalancer | null = null;
  try {
    // Short upstream timeouts: a response that never ends costs 0.5 s, not 30.
    lb = await startFuzzBalancer(backend.url, { headersMs: 500, bodyMs: 500 });
    const running = lb;
    return await runFuzz('responses', responseCase, (c) => checkResponseCase(running, backend, c), opts);
  } finally {
    await lb?.stop();
    await backend.close();
  }
}
