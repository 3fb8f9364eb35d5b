/** What the inference runtime reports as it works (the metrics endpoint counts it; tests may too). */
export interface InferenceTelemetry {
  /** One prediction answered: its version, where it ran and how long the request took. */
  prediction(e: { model: string; version: number; provider: string; ms: number }): void;
  /** One batch run by a version's session. */
  batch(e: { model: string; version: number; size: number; ms: number }): void;
}

export const NO_TELEMETRY: InferenceTelemetry = { prediction: () => undefined, batch: () => undefined };
