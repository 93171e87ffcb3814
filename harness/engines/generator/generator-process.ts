/**
 * Entry point of one generator process, forked by the generator's parent
 * side (index.ts) with an IPC channel. It exits when the parent says `stop`,
 * when the IPC channel closes (the parent died), or after `done`; it never
 * outlives its parent.
 */
import { ClosedPacer } from './closed-pacer.js';
import { Generator } from './generator.js';
import { netConnectionFactory } from './net-transport.js';
import { OpenPacer } from './open-pacer.js';
import type { PacerFactory } from './pacer.js';
import type { ChildMessage, GeneratorSpec, LoadModelName, ParentMessage } from './protocol.js';
import type { ConnectionFactory, RequestTemplate } from './transport.js';
import { undiciConnectionFactory } from './undici-transport.js';
import type { ErrorCodeValue } from '../../../common/error-codes.js';

/** The pacer of each load model. */
const PACERS: Readonly<Record<LoadModelName, PacerFactory>> = {
  open: (spec) => new OpenPacer(spec),
  closed: () => new ClosedPacer(),
};

let generator: Generator | undefined;

function send(msg: ChildMessage): void {
  if (process.connected) process.send!(msg);
}

function fatal(code: ErrorCodeValue, err: unknown): void {
  send({ type: 'fatal', code, message: err instanceof Error ? err.message : String(err) });
  generator?.stop();
  setTimeout(() => process.exit(1), 50).unref();
}

function factoryFor(spec: GeneratorSpec): ConnectionFactory {
  const url = new URL(spec.url);
  const template: RequestTemplate = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 80),
    path: `${url.pathname || '/'}${url.search}`,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
  };
  return spec.transport === 'undici' ? undiciConnectionFactory(template) : netConnectionFactory(template);
}

async function handle(msg: ParentMessage): Promise<void> {
  switch (msg.type) {
    case 'init': {
      generator = new Generator(msg.spec, factoryFor(msg.spec), PACERS[msg.spec.mode](msg.spec), (bucket) => send({ type: 'bucket', bucket }));
      const ready = await generator.connect();
      send({ type: 'ready', ...ready });
      break;
    }
    case 'start': {
      if (!generator) throw new Error('start before init');
      const report = await generator.run(msg.startEpochMs);
      send({ type: 'done', report });
      // Let the IPC queue flush; the parent disconnects, which ends us.
      setTimeout(() => process.exit(0), 5000).unref();
      break;
    }
    case 'stop':
      generator?.stop();
      process.exit(0);
  }
}

process.on('message', (msg: ParentMessage) => {
  handle(msg).catch((err) => fatal('LBB_ERR_GENERATOR', err));
});
process.on('disconnect', () => {
  generator?.stop();
  process.exit(0);
});
process.on('uncaughtException', (err) => fatal('LBB_ERR_GENERATOR_CRASH', err));
