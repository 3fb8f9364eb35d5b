import type { CalibrationMethod, Int8Plan, Int8Result } from './int8';

// Being written (issue 15): see int8.ts for the contract.
export function planInt8(_source: Uint8Array): Int8Plan {
  throw new Error('planInt8: not written yet');
}

export class Calibrator {
  items = 0;
  constructor(readonly plan: Int8Plan) {}
  add(_outputs: Record<string, { data: Float32Array; dims: number[] }>, _batch: number): void {
    throw new Error('Calibrator: not written yet');
  }
}

export function buildInt8(_plan: Int8Plan, _calibrator: Calibrator, _method: CalibrationMethod): Int8Result {
  throw new Error('buildInt8: not written yet');
}
