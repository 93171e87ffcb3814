import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxedWidth, cutCell, displayWidth, fitTable, wrapText } from '../../harness/report/table-fit.js';
import { renderScenarioTerminal, renderSummaryTerminal, renderTable } from '../../harness/report/terminal.js';
import { fixtureLoad, fixtureRun, fixtureScenario } from './report-fixture.js';
import { itemAt } from '../../common/checked.js';

const widest = (text: string): number => Math.max(...text.split('\n').map(displayWidth));

test('displayWidth ignores ANSI colours; boxedWidth counts padding and borders', () => {
  assert.equal(displayWidth('\u001b[32mPASS\u001b[0m'), 4);
  assert.equal(displayWidth('µs'), 2);
  assert.equal(boxedWidth([4, 2]), 1 + (4 + 3) + (2 + 3));
  assert.equal(cutCell('abcdefgh', 5), 'abcd…');
  assert.equal(cutCell('abc', 5), 'abc');
});

test('fitTable: a table that fits comes back unchanged', () => {
  const t = { columns: ['a', 'b'], rows: [['1', '2']] };
  assert.deepEqual(fitTable(t), [t]);
});

test('fitTable: one too-wide column is cut just enough, not below minCutWidth', () => {
  const long = 'x'.repeat(70);
  const [only, ...rest] = fitTable({ columns: ['name', 'n'], rows: [[long, '1']] }, { width: 60 });
  assert.equal(rest.length, 0);
  assert.equal(boxedWidth([displayWidth(itemAt(itemAt(only!.rows, 0, 'the first row'), 0, 'its first cell')), 1]), 60);
  assert.match(itemAt(itemAt(only!.rows, 0, 'the first row'), 0, 'its first cell'), /…$/);
});

test('fitTable: many columns fold into blocks that each repeat the key column', () => {
  const columns = ['KEY', ...Array.from({ length: 10 }, (_, i) => `COLUMN_${i}`)];
  const rows = [['row-a', ...columns.slice(1).map((_, i) => String(i))]];
  const blocks = fitTable({ columns, rows });
  assert.ok(blocks.length > 1);
  for (const b of blocks) {
    assert.equal(b.columns[0], 'KEY');
    assert.equal(itemAt(b.rows, 0, 'the first row')[0], 'row-a');
    assert.ok(
      boxedWidth(b.columns.map((c, i) => Math.max(c.length, itemAt(itemAt(b.rows, 0, 'the first row'), i, `cell ${i} of the first row`).length))) <= 80,
    );
  }
  // Every column appears exactly once beyond the key.
  assert.deepEqual(
    blocks.flatMap((b) => b.columns.slice(1)),
    columns.slice(1),
  );
});

test('wrapText breaks at words within the width', () => {
  assert.equal(wrapText('aaa bbb ccc', 7), 'aaa bbb\nccc');
  assert.equal(wrapText('short', 80), 'short');
});

test('terminal rendering fits 80 columns by default and --wide keeps everything', () => {
  const columns = ['BACKEND', 'WEIGHT', 'EXPECTED(%)', 'LB_COUNT', 'BACKEND_COUNT', 'OBSERVED(%)', 'DEVIATION(%)', 'EXTRA_COLUMN'];
  const t = { title: `A long title ${'word '.repeat(30)}`, columns, rows: [['backend-8001', 5, 50, 50002, 50002, 50.01, 0.02, 'x']] };
  assert.ok(widest(renderTable(t)) <= 80);
  assert.ok(widest(renderTable(t, { wide: true })) > 80);
  assert.match(renderTable(t, { wide: true }), /DEVIATION\(%\) │ EXTRA_COLUMN/);

  const loads = Array.from({ length: 3 }, (_, i) => ({ label: `direct c${1000 * (i + 1)} open-loop`, result: fixtureLoad() }));
  const s = fixtureScenario({ name: 'lat_conn', description: 'Latency vs connections - open-loop p99 and capacity at 100/500/1000/2000 connections', loads });
  assert.ok(widest(renderScenarioTerminal(s, { color: false })) <= 80);
  assert.ok(widest(renderScenarioTerminal(s, { color: false, wide: true })) > 80);
  assert.ok(widest(renderSummaryTerminal(fixtureRun().summary, { color: false })) <= 80);
});
