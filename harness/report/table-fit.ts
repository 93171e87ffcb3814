import { itemAt } from '../../common/checked.js';
/**
 * Fits a table into a terminal width. Pure: it only decides which columns go
 * into which block and how cells are shortened; terminal.ts draws the blocks.
 *
 * The drawn table is cli-table3's boxed style, so a table of columns of
 * content widths w1..wn is `sum(wi + 2) + n + 1` columns wide (one space of
 * padding each side, one border per column plus the closing one).
 *
 * Fitting, in order, stops as soon as the table fits:
 * 1. the widest columns above `minCutWidth` are cut, widest first, just
 *    enough to fit (cut cells end in `…`);
 * 2. otherwise cells longer than `maxCellWidth` are cut to it and the
 *    columns are folded into several blocks, each repeating the first
 *    (key) column, so every row can still be read across.
 * Nothing is dropped: a cut cell keeps its start and the full value is in
 * the JSON, the Markdown report and `--wide`.
 */

/** A table's cells as display strings. */
export interface TextTable {
  columns: string[];
  rows: string[][];
}

/** Options of fitTable. */
export interface FitOptions {
  /** Terminal columns the drawn table must fit. Default 80. */
  width?: number;
  /** Longest cell kept whole when the table has to be folded. Default 32. */
  maxCellWidth?: number;
  /** Columns are never cut below this width to avoid folding. Default 24. */
  minCutWidth?: number;
}

/** The default terminal width tables are fitted to (the classic 80 columns). */
export const DEFAULT_TABLE_WIDTH = 80;

// eslint-disable-next-line no-control-regex
const ANSI_SEQUENCE = /\u001b\[[0-9;]*m/g;

/** Columns a string occupies in a terminal: ANSI colour codes take none. */
export function displayWidth(text: string): number {
  return [...text.replace(ANSI_SEQUENCE, '')].length;
}

/** Width of the boxed table drawn from columns of these content widths. */
export function boxedWidth(contentWidths: readonly number[]): number {
  return contentWidths.reduce((sum, w) => sum + w + 3, 1);
}

function columnWidths(t: TextTable): number[] {
  return t.columns.map((c, i) => Math.max(displayWidth(c), ...t.rows.map((r) => displayWidth(r[i] ?? ''))));
}

/** Cuts `text` to at most `max` columns, ending in `…` when cut. Leaves
 * coloured text (ANSI) alone: only status words are coloured, and they are short. */
export function cutCell(text: string, max: number): string {
  if (displayWidth(text) <= max || text.includes('\u001b[')) return text;
  return [...text].slice(0, Math.max(1, max - 1)).join('') + '…';
}

function cutColumns(t: TextTable, widths: readonly number[]): TextTable {
  return {
    columns: t.columns.map((c, i) => cutCell(c, itemAt(widths, i, 'widths[i]'))),
    rows: t.rows.map((r) => r.map((c, i) => cutCell(c, widths[i] ?? c.length))),
  };
}

/** Words of `text` in lines of at most `width` columns (a longer word gets a line of its own). */
export function wrapText(text: string, width: number = DEFAULT_TABLE_WIDTH): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && displayWidth(line) + 1 + displayWidth(word) > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/**
 * One or more blocks that each fit `width` (unless a single key column plus
 * one other column cannot, which only a pathological header does). A table
 * that fits comes back unchanged as the only block.
 */
export function fitTable(t: TextTable, opts: FitOptions = {}): TextTable[] {
  const width = opts.width ?? DEFAULT_TABLE_WIDTH;
  const maxCell = opts.maxCellWidth ?? 32;
  const minCut = opts.minCutWidth ?? 24;
  const natural = columnWidths(t);
  if (boxedWidth(natural) <= width) return [t];

  const shrunk = [...natural];
  for (let over = boxedWidth(shrunk) - width; over > 0; over--) {
    const widest = shrunk.indexOf(Math.max(...shrunk));
    if (itemAt(shrunk, widest, 'the widest column') <= minCut) break;
    shrunk[widest] = itemAt(shrunk, widest, 'the widest column') - 1;
  }
  if (boxedWidth(shrunk) <= width) return [cutColumns(t, shrunk)];

  const cut = cutColumns(
    t,
    natural.map((w) => Math.min(w, maxCell)),
  );
  const widths = columnWidths(cut);
  if (boxedWidth(widths) <= width || widths.length <= 2) return [cut];

  // Greedy folding: fill each block with as many of the remaining columns as
  // fit beside the key column, in their order.
  const groups: number[][] = [];
  let current: number[] = [];
  for (let i = 1; i < widths.length; i++) {
    const trial = [0, ...current, i].map((j) => itemAt(widths, j, 'widths[j]'));
    if (current.length > 0 && boxedWidth(trial) > width) {
      groups.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) groups.push(current);
  return groups.map((g) => {
    const pick = [0, ...g];
    return { columns: pick.map((j) => itemAt(cut.columns, j, 'cut.columns[j]')), rows: cut.rows.map((r) => pick.map((j) => r[j] ?? '')) };
  });
}
