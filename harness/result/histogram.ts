/**
 * Latency histograms: HDR histograms of microseconds with 3 significant
 * digits (hdr-histogram-js), serialized as compressed base64 so results from
 * several generator processes merge exactly.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencySummary } from '../engines/engine.js';

export type LatencyHistogram = hdr.Histogram;

/** Highest value tracked, µs (1 hour); larger values are clamped. */
export const HISTOGRAM_MAX_US = 3_600_000_000;

/** A new empty µs histogram, 3 significant digits, 1 µs .. 1 hour. */
export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HISTOGRAM_MAX_US,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one latency in µs (fractional values are rounded; out-of-range values clamped). */
export function recordUs(histogram: LatencyHistogram, valueUs: number): void {
  const v = valueUs < 1 ? 1 : valueUs > HISTOGRAM_MAX_US ? HISTOGRAM_MAX_US : Math.round(valueUs);
  histogram.recordValue(v);
}

export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64: string): LatencyHistogram {
  const decoded = hdr.decodeFromCompressedBase64(base64, 32, false);
  // Re-add into a histogram of our standard shape so merges are exact.
  const out = createLatencyHistogram();
  out.add(decoded);
  return out;
}

/** Exact merge of encoded histograms into a new one. */
export function mergeEncodedHistograms(encoded: readonly string[]): LatencyHistogram {
  const out = createLatencyHistogram();
  for (const e of encoded) if (e) out.add(decodeHistogram(e));
  return out;
}

/** Percentiles and moments of a histogram, µs. All zero when empty. */
export function summarizeHistogram(h: LatencyHistogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return { count: 0, minUs: 0, meanUs: 0, stdevUs: 0, p50Us: 0, p75Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0, maxUs: 0 };
  }
  return {
    count,
    minUs: h.minNonZeroValue,
    meanUs: h.mean,
    stdevUs: h.stdDeviation,
    p50Us: h.getValueAtPercentile(50),
    p75Us: h.getValueAtPercentile(75),
    p90Us: h.getValueAtPercentile(90),
    p99Us: h.getValueAtPercentile(99),
    p999Us: h.getValueAtPercentile(99.9),
    p9999Us: h.getValueAtPercentile(99.99),
    maxUs: h.maxValue,
  };
}

/** Percentiles reported in the spectrum: HdrHistogram-style ticks that halve
 * the distance to 100% at each step. */
export const SPECTRUM_PERCENTILES: readonly number[] = [
  0, 10, 20, 30, 40, 50, 55, 60, 65, 70, 75, 77.5, 80, 82.5, 85, 87.5, 88.75, 90, 91.25, 92.5, 93.75, 94.375, 95, 95.625, 96.25, 96.875, 97.1875, 97.5, 97.8125,
  98.125, 98.4375, 98.59375, 98.75, 98.90625, 99, 99.21875, 99.375, 99.5, 99.6, 99.7, 99.8, 99.9, 99.95, 99.99, 99.995, 99.999, 99.9999, 100,
];

/** The whole percentile spectrum, for the JSON report. */
export function percentileSpectrum(h: LatencyHistogram): { percentile: number; valueUs: number }[] {
  if (h.totalCount === 0) return [];
  return SPECTRUM_PERCENTILES.map((percentile) => ({ percentile, valueUs: h.getValueAtPercentile(percentile) }));
}
