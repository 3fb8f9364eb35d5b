import { z } from 'zod';

/**
 * The answers of MLflow's REST API that the importer reads (tests/fixtures/formats/mlflow/NOTES.md
 * describes the wire format), as lenient as MLflow itself: unset fields are left out (and may come
 * as null), keys the importer does not read are ignored (newer servers add fields), int64 fields are
 * numbers or, from 1.x servers, numeric strings. Only what the importer relies on is required.
 */

/** int64 (times, steps): a JSON number, or a numeric string from 1.x servers. */
const INT64 = 'expected an integer (a number or a numeric string)';
const int64 = z.union([z.number(), z.string().regex(/^-?\d+$/, INT64)], { error: INT64 });
/** Experiment ids and version numbers are strings on the wire; numbers are taken too. */
const id = z.union([z.string(), z.number()], { error: 'expected an id (a string or a number)' });
const pageToken = z.string().nullish();
/** Params and tags: `{key, value}` lists (a value protobuf left unset is absent). */
const keyValues = z.array(z.object({ key: z.string(), value: z.string().nullish() })).nullish();

const experiment = z.object({
  experiment_id: id,
  name: z.string(),
  artifact_location: z.string().nullish(),
  lifecycle_stage: z.string().nullish(),
});
export type RestExperiment = z.output<typeof experiment>;

/** experiments/search (an empty result is `{}`). */
export const experimentsPage = z.object({ experiments: z.array(experiment).nullish(), next_page_token: pageToken });
/** experiments/get-by-name. */
export const experimentByName = z.object({ experiment });

const run = z.object({
  info: z
    .object({
      run_id: z.string().nullish(),
      /** Deprecated, still sent (and the only id of old servers). */
      run_uuid: z.string().nullish(),
      experiment_id: id.nullish(),
      run_name: z.string().nullish(),
      /** The status name (RUNNING, FINISHED, ...); a number is read as the proto enum. */
      status: z.union([z.string(), z.number()]).nullish(),
      start_time: int64.nullish(),
      end_time: int64.nullish(),
      artifact_uri: z.string().nullish(),
      user_id: z.string().nullish(),
      lifecycle_stage: z.string().nullish(),
    })
    .refine((info) => Boolean(info.run_id || info.run_uuid), { error: 'a run has no run_id (nor run_uuid)' }),
  data: z
    .object({
      /** The latest value per key: only the keys are read (metrics/get-history has the series). */
      metrics: z.array(z.object({ key: z.string() })).nullish(),
      params: keyValues,
      tags: keyValues,
    })
    .nullish(),
  /** MLflow 3: the LoggedModels the run produced. */
  outputs: z.object({ model_outputs: z.array(z.object({ model_id: z.string().nullish() })).nullish() }).nullish(),
});
export type RestRun = z.output<typeof run>;

/** runs/search (an empty result is `{}`). */
export const runsPage = z.object({ runs: z.array(run).nullish(), next_page_token: pageToken });
/** runs/get. */
export const runById = z.object({ run });

/** metrics/get-history: values are numbers, or strings for NaN and infinities ("NaN", "Infinity"). */
export const metricHistoryPage = z.object({
  metrics: z
    .array(
      z.object({
        value: z.union([z.number(), z.string()], { error: 'expected a metric value (a number or a string)' }),
        timestamp: int64.nullish(),
        step: int64.nullish(),
      }),
    )
    .nullish(),
  next_page_token: pageToken,
});

const registeredModel = z.object({
  name: z.string(),
  description: z.string().nullish(),
  /** On the model: `{alias, version}` objects. */
  aliases: z.array(z.object({ alias: z.string(), version: id })).nullish(),
});
export type RestRegisteredModel = z.output<typeof registeredModel>;

/** registered-models/search. */
export const registeredModelsPage = z.object({
  registered_models: z.array(registeredModel).nullish(),
  next_page_token: pageToken,
});
/** registered-models/get. */
export const registeredModelByName = z.object({ registered_model: registeredModel });

const VERSION = 'expected a version number (a number or a numeric string)';

/** model-versions/search. */
export const modelVersionsPage = z.object({
  model_versions: z
    .array(
      z.object({
        version: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, VERSION)], { error: VERSION }),
        source: z.string().nullish(),
        run_id: z.string().nullish(),
        /** MLflow 3: the LoggedModel registered. */
        model_id: z.string().nullish(),
        storage_location: z.string().nullish(),
        status: z.string().nullish(),
        current_stage: z.string().nullish(),
        description: z.string().nullish(),
        /** On a version: alias names. */
        aliases: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
  next_page_token: pageToken,
});

/**
 * logged-models/{model_id} (MLflow 3): `{"model": {"info": LoggedModelInfo, "data": ...}}`. Only the
 * info fields the importer reads: the run that logged the model and where its files are.
 */
export const loggedModelById = z.object({
  model: z.object({
    info: z.object({
      model_id: z.string(),
      experiment_id: id.nullish(),
      name: z.string().nullish(),
      source_run_id: z.string().nullish(),
      artifact_uri: z.string().nullish(),
    }),
  }),
});

/** model-versions/get-download-uri. */
export const downloadUri = z.object({ artifact_uri: z.string().nullish() });

/** artifacts/list. */
export const artifactsPage = z.object({
  files: z.array(z.object({ path: z.string(), is_dir: z.boolean().nullish() })).nullish(),
  next_page_token: pageToken,
});

/** MLflow's error answer: `{"error_code": ..., "message": ...}`. */
export const errorBody = z.object({ error_code: z.string().nullish(), message: z.string().nullish() });

/** The first problem of a payload that does not parse, where it is (`runs[0].info.start_time`) and what. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unreadable answer';
  const at = issue.path
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
    .join('')
    .replace(/^\./, '');
  return `${at || 'the answer'}: ${issue.message}`;
}
