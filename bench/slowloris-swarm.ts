/**
 * A slowloris attack as a bench load: `connections` TCP connections that
 * each send a partial request head (request line and Host, no blank line)
 * and then one more header byte every `byteIntervalMs`, so the head never
 * ends and never goes quiet for long. When the server cuts a connection,
 * it is opened again at once, as the real attack does. Every connection's
 * byte clock starts at a random phase, so the bytes do not arrive in one
 * burst a period.
 *
 * Counts what the server did: connections open now, cuts and how long each
 * connection had lived when it was cut (ms from connect), the status of any
 * response sent before a cut (a 408, say), and failed connects.
 */
import net from 'node:net';

/** Options of a SlowlorisSwarm. */
export interface SlowlorisOptions {
  /** Server address; loopback only (the bench sends nowhere else). */
  host: string;
  port: number;
  /** Connections held open at once. */
  connections: number;
  /** Gap between two header bytes on one connection, ms. */
  byteIntervalMs: number;
  /** Request path of the partial head. Default `/echo`. */
  path?: string;
  /** Random source in [0, 1) for the byte phases. Default Math.random. */
  random?: () => number;
}

/** What the server did to the swarm so far. Plain data. */
export interface SlowlorisCounts {
  /** Connections established, reconnects included. */
  opened: number;
  /** Connections open now. */
  openNow: number;
  /** Connections the server closed (or reset) while the swarm held them. */
  cuts: number;
  /** For each cut, how long that connection had been open, ms. */
  cutAfterMs: number[];
  /** Statuses of responses received before a cut, e.g. `{ "408": 990 }`. */
  statuses: Record<string, number>;
  /** Connects that failed (refused, reset before connect, timed out). */
  connectErrors: number;
  /** Header bytes sent after the partial heads. */
  bytesTrickled: number;
}

/** The header line whose bytes are trickled, one a tick, over and over. */
const TRICKLE = 'X-Slow: a\r\n';
/** Wait before reconnecting after a failed connect, ms: a refusing server
 * must not turn the swarm into a busy loop. */
const RECONNECT_AFTER_ERROR_MS = 100;
/** A connect that takes longer than this counts as failed, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

interface Slot {
  socket: net.Socket | undefined;
  connectedAtMs: number;
  timer: NodeJS.Timeout | undefined;
  trickleAt: number;
}

/** The swarm; `open()` starts it, `stop()` ends it (no reconnects after). */
export class SlowlorisSwarm {
  private readonly slots: Slot[] = [];
  private readonly counts: SlowlorisCounts = { opened: 0, openNow: 0, cuts: 0, cutAfterMs: [], statuses: {}, connectErrors: 0, bytesTrickled: 0 };
  private stopped = false;
  private readonly random: () => number;
  private readonly head: string;

  constructor(private readonly options: SlowlorisOptions) {
    if (!Number.isInteger(options.connections) || options.connections < 1) throw new RangeError(`connections ${options.connections}: expected an integer >= 1`);
    if (!(options.byteIntervalMs > 0)) throw new RangeError(`byteIntervalMs ${options.byteIntervalMs}: expected > 0`);
    this.random = options.random ?? Math.random;
    this.head = `GET ${options.path ?? '/echo'} HTTP/1.1\r\nHost: ${options.host}\r\nUser-Agent: lbbench-slowloris\r\n`;
  }

  /** Opens every connection and resolves once each has connected or failed
   * once (failed ones keep retrying), or after `timeoutMs`. */
  async open(timeoutMs = 15_000): Promise<void> {
    const firstTries = Array.from({ length: this.options.connections }, () => {
      const slot: Slot = { socket: undefined, connectedAtMs: 0, timer: undefined, trickleAt: 0 };
      this.slots.push(slot);
      return new Promise<void>((resolve) => this.connect(slot, resolve));
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(firstTries), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** A copy of the counts so far. */
  snapshot(): SlowlorisCounts {
    return { ...this.counts, cutAfterMs: [...this.counts.cutAfterMs], statuses: { ...this.counts.statuses } };
  }

  /** Closes every connection; none is opened again. Resolves once all are closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      const s = slot.socket;
      if (s && !s.destroyed) closing.push(new Promise<void>((resolve) => s.once('close', () => resolve())));
      s?.destroy();
    }
    await Promise.all(closing);
  }

  private connect(slot: Slot, firstTry?: () => void): void {
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    slot.socket = socket;
    let connected = false;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timed out')));
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      this.counts.opened++;
      this.counts.openNow++;
      slot.connectedAtMs = performance.now();
      // Each connection trickles from the start of the line: a reconnect that
      // went on mid-line could send the blank line that ends the head.
      slot.trickleAt = 0;
      socket.write(this.head);
      this.scheduleByte(slot, socket, this.random() * this.options.byteIntervalMs);
      firstTry?.();
    });
    let responseHead = '';
    socket.on('data', (chunk: Buffer) => {
      // Only the status line matters; a server may answer 408 before it closes.
      if (responseHead.length > 64) return;
      responseHead += chunk.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(responseHead);
      if (m?.[1] !== undefined) {
        this.counts.statuses[m[1]] = (this.counts.statuses[m[1]] ?? 0) + 1;
        responseHead = 'x'.repeat(65);
      }
    });
    socket.on('error', () => {
      // Counted on close: a reset is a cut, a failed connect a connect error.
    });
    socket.once('close', () => {
      clearTimeout(slot.timer);
      if (connected) {
        this.counts.openNow--;
        if (this.stopped) return;
        this.counts.cuts++;
        this.counts.cutAfterMs.push(performance.now() - slot.connectedAtMs);
        this.connect(slot);
        return;
      }
      this.counts.connectErrors++;
      firstTry?.();
      if (!this.stopped) slot.timer = setTimeout(() => this.connect(slot), RECONNECT_AFTER_ERROR_MS);
    });
  }

  private scheduleByte(slot: Slot, socket: net.Socket, delayMs: number): void {
    slot.timer = setTimeout(() => {
      if (socket.destroyed || this.stopped) return;
      socket.write(TRICKLE.charAt(slot.trickleAt % TRICKLE.length));
      slot.trickleAt++;
      this.counts.bytesTrickled++;
      this.scheduleByte(slot, socket, this.options.byteIntervalMs);
    }, delayMs);
  }
}
