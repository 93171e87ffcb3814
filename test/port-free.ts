/** Test helper: whether a port is free now, for the checks that a stopped service released its ports. */
import { probePort } from '../harness/services/ports.js';

/** True when `host:port` can be bound now (probePort says `free`). */
export async function isPortFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return (await probePort(port, host)) === 'free';
}
