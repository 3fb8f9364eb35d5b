import type { Actor } from '../auth/actor';
import type { ResolvedVersion } from '../registry/version.service';
import type { ClassScore } from './postprocess';

/** How a routed prediction ended, for the prediction log and the arm's guardrails. */
export interface RouteOutcome {
  top: ClassScore[] | null;
  latencyMs: number;
  /** The error's code when the arm failed the request. */
  errorCode: string | null;
  /** The image, for shadow runs of the other arms. */
  bytes: Buffer;
}

/** One prediction's route: the version that answers and what to do once it has. */
export interface RoutedPrediction {
  resolved: ResolvedVersion;
  /** Logs the outcome (and starts shadow runs); returns the prediction's id when it was logged. */
  finish(outcome: RouteOutcome): string | null;
}

/**
 * Unversioned predictions on a model with a running experiment are routed to one of its arms
 * (src/experiments); the inference service knows nothing else about experiments.
 */
export interface PredictionRouting {
  /** Null when the model has no running experiment (the usual resolution applies). */
  route(actor: Actor, model: string, routingKey: string | null): Promise<RoutedPrediction | null>;
}
