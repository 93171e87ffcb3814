/**
 * A parser for the Prometheus text exposition format (version 0.0.4), enough
 * for scraping the balancer: samples with labels and values; comments and
 * timestamps are skipped.
 */
import type { PromSample } from '../result/scenario-api.js';
import { itemAt } from '../../common/checked.js';

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses exposition text into samples; malformed lines are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const l of m[3].matchAll(LABEL)) labels[itemAt(l, 1, 'l[1]')] = itemAt(l, 2, 'l[2]').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: itemAt(m, 1, 'm[1]'), labels, value });
  }
  return out;
}

/** True when `s` is a sample of `name` whose labels include `match`. */
export function sampleMatches(s: PromSample, name: string, match: Readonly<Record<string, string>>): boolean {
  if (s.name !== name) return false;
  for (const k in match) if (s.labels[k] !== match[k]) return false;
  return true;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sumSamples(samples: readonly PromSample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) if (sampleMatches(s, name, match)) total += s.value;
  return total;
}
