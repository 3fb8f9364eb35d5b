import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export interface StoreRun {
  runId: string;
  name: string;
  params?: Record<string, string>;
  /** [key, value, timestamp, step] */
  metrics?: [string, number | string, number, number][];
  tags?: Record<string, string>;
  /** A logged model at artifacts/model: its MLmodel metadata and, optionally, the ONNX bytes. */
  model?: { metadata?: Record<string, string>; onnx?: Buffer };
  /**
   * An MLflow 3 LoggedModel (`<exp>/models/m-<id>`) the run produced, optionally holding ONNX bytes.
   * `artifactLocation` (a file:// URI): where MLflow put its files, as an experiment created with its
   * own artifact location makes it; the MLmodel and ONNX file are written there instead of
   * `<exp>/models/m-<id>/artifacts`.
   */
  loggedModel?: { modelId: string; onnx?: Buffer; artifactLocation?: string };
}

export interface StoreVersion {
  version: number;
  /** '' as MLflow 3 writes it for a version registered from a LoggedModel without a run id. */
  runId: string;
  aliases?: string[];
  /** Default `runs:/<run>/model`; `models:/m-<id>` for a LoggedModel, `models:/<name>/<N>` for a copy. */
  source?: string;
  modelId?: string;
}

/** Writes an MLflow FileStore as MLflow 2.x/3.x lays it out (see tests/fixtures/formats/mlflow). */
export function writeMlflowStore(
  root: string,
  opts: {
    experimentId: string;
    experiment: string;
    runs: StoreRun[];
    registered?: { name: string; versions: StoreVersion[] };
  },
) {
  const w = (file: string, text: string | Buffer) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const exp = path.join(root, opts.experimentId);
  w(
    path.join(root, '0', 'meta.yaml'),
    YAML.stringify({
      artifact_location: 'file:///elsewhere/mlruns/0',
      experiment_id: '0',
      lifecycle_stage: 'active',
      name: 'Default',
    }),
  );
  w(
    path.join(exp, 'meta.yaml'),
    YAML.stringify({
      artifact_location: `file:///elsewhere/mlruns/${opts.experimentId}`,
      creation_time: 1700000000000,
      experiment_id: opts.experimentId,
      lifecycle_stage: 'active',
      name: opts.experiment,
    }),
  );
  for (const run of opts.runs) {
    const dir = path.join(exp, run.runId);
    w(
      path.join(dir, 'meta.yaml'),
      YAML.stringify({
        artifact_uri: `file:///elsewhere/mlruns/${opts.experimentId}/${run.runId}/artifacts`,
        end_time: 1700000100000,
        entry_point_name: '',
        experiment_id: opts.experimentId,
        lifecycle_stage: 'active',
        run_id: run.runId,
        run_name: run.name,
        run_uuid: run.runId,
        source_name: '',
        source_type: 4,
        source_version: '',
        start_time: 1700000000000,
        status: 3,
        tags: [],
        user_id: 'tester',
      }),
    );
    for (const [k, v] of Object.entries(run.params ?? {})) w(path.join(dir, 'params', k), v);
    for (const [k, v] of Object.entries({ 'mlflow.runName': run.name, ...(run.tags ?? {}) }))
      w(path.join(dir, 'tags', k), v);
    const lines = new Map<string, string[]>();
    for (const [k, v, ts, step] of run.metrics ?? []) lines.set(k, [...(lines.get(k) ?? []), `${ts} ${v} ${step}\n`]);
    for (const [k, l] of lines) w(path.join(dir, 'metrics', k), l.join(''));
    if (run.model) {
      w(
        path.join(dir, 'artifacts', 'model', 'MLmodel'),
        YAML.stringify({
          artifact_path: 'model',
          flavors: { onnx: { code: null, data: 'model.onnx', onnx_version: '1.12.0' } },
          ...(run.model.metadata ? { metadata: run.model.metadata } : {}),
          run_id: run.runId,
          utc_time_created: '2026-11-26 08:00:00.000000',
        }),
      );
      if (run.model.onnx) w(path.join(dir, 'artifacts', 'model', 'model.onnx'), run.model.onnx);
    }
    if (run.loggedModel) {
      const id = run.loggedModel.modelId;
      const lm = path.join(exp, 'models', id);
      const location = run.loggedModel.artifactLocation;
      const files = location ? fileURLToPath(location) : path.join(lm, 'artifacts');
      w(
        path.join(lm, 'meta.yaml'),
        YAML.stringify({
          artifact_location: location ?? `file:///elsewhere/mlruns/${opts.experimentId}/models/${id}/artifacts`,
          creation_timestamp: 1700000050000,
          experiment_id: opts.experimentId,
          last_updated_timestamp: 1700000060000,
          model_id: id,
          model_type: null,
          name: 'model',
          source_run_id: run.runId,
          status: 2,
          status_message: null,
        }),
      );
      w(
        path.join(files, 'MLmodel'),
        YAML.stringify({
          artifact_path: location ?? `file:///elsewhere/mlruns/${opts.experimentId}/models/${id}/artifacts`,
          flavors: { onnx: { code: null, data: 'model.onnx', onnx_version: '1.12.0' } },
          mlflow_version: '3.5.1',
          model_id: id,
          model_uuid: id,
          run_id: run.runId,
          utc_time_created: '2026-11-26 08:00:00.000000',
        }),
      );
      if (run.loggedModel.onnx) w(path.join(files, 'model.onnx'), run.loggedModel.onnx);
      w(
        path.join(dir, 'outputs', id, 'meta.yaml'),
        YAML.stringify({
          destination_id: id,
          destination_type: 'MODEL_OUTPUT',
          source_id: id,
          source_type: 'RUN_OUTPUT',
          step: 0,
          tags: {},
        }),
      );
    }
  }
  if (opts.registered) {
    const reg = path.join(root, 'models', opts.registered.name);
    const aliases: Record<string, string> = {};
    for (const v of opts.registered.versions) {
      w(
        path.join(reg, `version-${v.version}`, 'meta.yaml'),
        YAML.stringify({
          creation_timestamp: 1700000200000,
          current_stage: 'None',
          description: null,
          last_updated_timestamp: 1700000200000,
          model_id: v.modelId ?? '',
          name: opts.registered.name,
          run_id: v.runId,
          run_link: null,
          source: v.source ?? `runs:/${v.runId}/model`,
          status: 'READY',
          status_message: null,
          user_id: null,
          version: v.version,
        }),
      );
      for (const a of v.aliases ?? []) {
        aliases[a] = String(v.version);
        w(path.join(reg, 'aliases', a), String(v.version));
      }
    }
    w(
      path.join(reg, 'meta.yaml'),
      YAML.stringify({
        aliases,
        creation_timestamp: 1700000200000,
        description: null,
        last_updated_timestamp: 1700000200000,
        name: opts.registered.name,
      }),
    );
  }
}
