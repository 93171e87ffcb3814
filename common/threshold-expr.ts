/**
 * Threshold expressions, k6-style: a metric name, a comparison and a number.
 *
 * Grammar (whitespace between tokens is ignored):
 *
 *   threshold  = metric , op , number ;
 *   metric     = letter , { letter | digit | "_" | "." } ;   (e.g. p99_ms, bytes_per_second)
 *   op         = "<" | "<=" | ">" | ">=" | "==" | "!=" ;
 *   number     = [ "-" ] , digits , [ "." , digits ] , [ ( "e" | "E" ) , [ "+" | "-" ] , digits ] ;
 *
 * The metric names a field of a scenario's flat `metrics` map. Parsed at
 * validation time, so a malformed threshold fails before any load runs.
 */
import { itemAt } from './checked.js';

export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface ThresholdExpr {
  metric: string;
  op: ThresholdOp;
  value: number;
  /** The text it was parsed from, for reports. */
  source: string;
}

const PATTERN = /^\s*([A-Za-z][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$/;

/** Parses one expression; returns an error message instead of throwing. */
export function parseThresholdExpr(text: string): ThresholdExpr | { error: string } {
  const m = PATTERN.exec(text);
  if (!m) {
    return { error: `not a threshold expression: expected "<metric> <op> <number>", e.g. "p99_ms < 20"` };
  }
  return { metric: itemAt(m, 1, 'the metric of a matched threshold'), op: m[2] as ThresholdOp, value: Number(m[3]), source: text.trim() };
}

/** True when `measured` satisfies the expression. */
export function evaluateThreshold(expr: ThresholdExpr, measured: number): boolean {
  switch (expr.op) {
    case '<':
      return measured < expr.value;
    case '<=':
      return measured <= expr.value;
    case '>':
      return measured > expr.value;
    case '>=':
      return measured >= expr.value;
    case '==':
      return measured === expr.value;
    case '!=':
      return measured !== expr.value;
  }
}
