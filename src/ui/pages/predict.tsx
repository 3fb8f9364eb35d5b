import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useEffect, useState, type DragEvent, type FormEvent } from 'react';
import { Empty, ErrorBox, Loading, Page } from '../components';
import { graphql } from '../gql';
import type { UiPredictBatchQuery } from '../gql/graphql';
import { gql } from '../lib/api';
import { ModelChoicesQuery } from '../lib/operations';
import { parseRef, pct } from '../lib/format';
import { predictRoute } from '../routes';
import { useAction } from '../lib/action';

const PredictBatch = graphql(`
  query UiPredictBatch($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) {
    predictBatch(ref: $ref, images: $images, topK: $topK) {
      resolvedBy
      executionProvider
      timingsMs
      modelVersion {
        version
      }
      top {
        label
        probability
      }
    }
  }
`);

type Prediction = UiPredictBatchQuery['predictBatch'][number];
/** Images per request: well under the gateway's per-batch cap. */
const CHUNK = 16;

const readDataUrl = (file: File) =>
  new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

async function predictAll(model: string, ref: string | undefined, files: File[], topK: number): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (let i = 0; i < files.length; i += CHUNK) {
    const images = await Promise.all(files.slice(i, i + CHUNK).map(async (f) => ({ base64: await readDataUrl(f) })));
    out.push(...(await gql(PredictBatch, { ref: parseRef(model, ref), images, topK })).predictBatch);
  }
  return out;
}

interface Run {
  refs: (string | undefined)[];
  files: File[];
  urls: string[];
  results: Prediction[][];
}

export function PredictPage() {
  const search = predictRoute.useSearch();
  const navigate = useNavigate();
  const set = (patch: Partial<typeof search>) =>
    void navigate({ to: '/predict', search: { ...search, ...patch }, replace: true });
  const choices = useQuery({ queryKey: ['model-choices'], queryFn: () => gql(ModelChoicesQuery) });
  const [files, setFiles] = useState<File[]>([]);
  const [run, setRun] = useState<Run | null>(null);
  const { busy, error, act } = useAction();
  const [dragging, setDragging] = useState(false);
  useEffect(() => () => run?.urls.forEach((u) => URL.revokeObjectURL(u)), [run]);

  if (choices.isPending) return <Loading what="Loading models" />;
  if (choices.error) return <ErrorBox error={choices.error} />;
  const models = choices.data.models;
  if (models.length === 0) return <Empty>No models are registered yet.</Empty>;
  const model = models.find((m) => m.name === search.model) ?? models[0]!;
  const topK = Math.min(Math.max(search.topK ?? 5, 1), model.versions.length ? 20 : 5);
  const refOptions = [
    { value: '', label: 'default routing (champion, else latest)' },
    ...model.aliases.map((a) => ({ value: a.name, label: `${a.name} (v${a.version.version})` })),
    ...model.versions
      .filter((v) => v.status === 'READY')
      .map((v) => ({ value: String(v.version), label: `v${v.version}` })),
  ];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const refs = search.b !== undefined ? [search.a, search.b] : [search.a];
      const results = await Promise.all(refs.map((r) => predictAll(model.name, r, files, topK)));
      setRun({ refs, files, urls: files.map((f) => URL.createObjectURL(f)), results });
    });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    setFiles([...e.dataTransfer.files].filter((f) => f.type.startsWith('image/') || f.type === ''));
  };

  return (
    <Page title="Predict">
      <form onSubmit={submit} className="predict-form">
        <div
          className={`dropzone ${dragging ? 'dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label>
            Images (drop them here or pick files)
            <input type="file" accept="image/*" multiple onChange={(e) => setFiles([...(e.target.files ?? [])])} />
          </label>
          <span className="muted small">
            {files.length ? `${files.length} image(s) chosen` : 'PNG, JPEG, WebP, GIF, TIFF or AVIF'}
          </span>
        </div>
        <div className="inline-form">
          <label>
            Model
            <select value={model.name} onChange={(e) => set({ model: e.target.value, a: undefined, b: undefined })}>
              {models.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </label>
          <label>
            Version or alias
            <select value={search.a ?? ''} onChange={(e) => set({ a: e.target.value || undefined })}>
              {refOptions.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Side by side with
            <select
              value={search.b === undefined ? 'none' : search.b || ''}
              onChange={(e) => set({ b: e.target.value === 'none' ? undefined : e.target.value })}
            >
              <option value="none">nothing</option>
              {refOptions.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Top K
            <input
              type="number"
              min={1}
              max={20}
              value={topK}
              onChange={(e) => set({ topK: Number(e.target.value) || undefined })}
            />
          </label>
          <button type="submit" className="primary" disabled={busy || files.length === 0}>
            {busy ? 'Predicting…' : 'Predict'}
          </button>
        </div>
      </form>
      {error != null && <ErrorBox error={error} />}
      {run && <Results run={run} model={model.name} />}
    </Page>
  );
}

function Results({ run, model }: { run: Run; model: string }) {
  return (
    <ul className="predictions" aria-label="Predictions">
      {run.files.map((f, i) => (
        <li key={i} className="card">
          <img src={run.urls[i]} alt={f.name} className="pixelated" width={112} height={112} />
          <div className="prediction-columns">
            {run.results.map((r, j) => (
              <PredictionView key={j} p={r[i]!} model={model} name={f.name} />
            ))}
          </div>
        </li>
      ))}
    </ul>
  );
}

function PredictionView({ p, model, name }: { p: Prediction; model: string; name: string }) {
  const t = p.timingsMs as Record<string, number>;
  return (
    <section aria-label={`${name}: v${p.modelVersion.version}`}>
      <h3>
        <Link to="/models/$name/versions/$version" params={{ name: model, version: String(p.modelVersion.version) }}>
          v{p.modelVersion.version}
        </Link>{' '}
        <span className="muted small">
          via {p.resolvedBy} on {p.executionProvider}
        </span>
      </h3>
      <ol className="bars">
        {p.top.map((c) => (
          <li key={c.label}>
            <span className="bar-label">{c.label}</span>
            <span className="bar" aria-hidden="true">
              <span style={{ width: `${c.probability * 100}%` }} />
            </span>
            <span className="bar-value">{pct(c.probability)}</span>
          </li>
        ))}
      </ol>
      <p className="muted small timings">
        {['decode', 'preprocess', 'queue', 'inference', 'total']
          .filter((k) => typeof t[k] === 'number')
          .map((k) => `${k} ${t[k]!.toFixed(1)} ms`)
          .join(' · ')}
        {typeof t.batchSize === 'number' && ` · batch of ${t.batchSize}`}
      </p>
    </section>
  );
}
