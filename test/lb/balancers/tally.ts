import { itemAt } from '../../../common/checked.js';

/** Adds one to `counts[index]`; throws when the index is outside the counts (a balancer picked a backend that does not exist). */
export function tally(counts: { [index: number]: number; readonly length: number }, index: number): void {
  counts[index] = itemAt(counts, index, `the count of picked backend ${index}`) + 1;
}
