import { itemAt } from '../../../common/checked.js';
/** Series colours shared by the Mermaid and SVG renderers, with names for
 * legends that cannot show colour (Mermaid's xychart has no legend). */
export const PALETTE: readonly { hex: string; name: string }[] = [
  { hex: '#1f77b4', name: 'blue' },
  { hex: '#ff7f0e', name: 'orange' },
  { hex: '#2ca02c', name: 'green' },
  { hex: '#d62728', name: 'red' },
  { hex: '#9467bd', name: 'purple' },
  { hex: '#8c564b', name: 'brown' },
  { hex: '#e377c2', name: 'pink' },
  { hex: '#7f7f7f', name: 'grey' },
  { hex: '#bcbd22', name: 'olive' },
  { hex: '#17becf', name: 'cyan' },
];

/** The colour of the i-th series (the palette repeats). */
export function seriesColor(i: number): { hex: string; name: string } {
  return itemAt(PALETTE, i % PALETTE.length, 'PALETTE[i % PALETTE.length]');
}

/** An axis title: `latency (ms)`, or the label alone without a unit. */
export function axisTitle(axis: { label: string; unit: string }): string {
  return axis.unit ? `${axis.label} (${axis.unit})` : axis.label;
}
