import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useMemo, useState, type FormEvent } from 'react';
import { Figure, lineChart } from '../charts';
import { Chip, DefinitionList, Empty, ErrorBox, Loading, Page, Section, StatusChip } from '../components';
import { graphql } from '../gql';
import type { UiVersionQuery } from '../gql/graphql';
import { gql } from '../lib/api';
import { fmtBytes, fmtCount, fmtDate, fmtMs } from '../lib/format';
import { OptimizeVersion, StartComparison } from '../lib/operations';
import { useCan } from '../lib/session';
import { versionRoute } from '../routes';
import { useAction } from '../lib/action';

const VersionQuery = graphql(`
  query UiVersion($ref: VersionRefInput!) {
    modelVersion(ref: $ref) {
      id
      version
      status
      statusReason
      artifactUri
      format
      md5
      sha256
      sizeBytes
      parameters
      executionProviders
      remote {
        url
        model
        modelVersion
        protocol
        timeoutMs
      }
      speed {
        batch1Ms
        batch1Runs
        batch32ImagesPerSecond
        throughputBatchSize
        executionProvider
        threads
        width
        height
        channels
        measuredAt
      }
      createdAt
      aliases
      tags
      signature
      parent {
        version
      }
      children {
        version
        status
      }
      derivation {
        method
        calibrationDataset
        calibrationItems
        calibrationMethod
        tool
        quantizedNodes
        foldedDequantize
        optimization {
          id
          comparison {
            id
            status
            verdict
            nonInferior
          }
        }
      }
      model {
        name
        inputSpec
        labels
      }
      dvc {
        repo
        rev
        path
        md5
        remote
        dirty
      }
      mlflowRun {
        runId
        runName
        experimentId
        experimentName
        status
        startTime
        endTime
        params
        metrics
        tags
        trackingUri
        metricHistory(first: 1000) {
          key
          step
          value
        }
      }
    }
    loadedVersions(first: 100) {
      state
      executionProvider
      memoryMB
      requests
      lastUsed
      reason
      modelVersion {
        id
      }
    }
    datasets(first: 100) {
      name
      version
      size
    }
  }
`);

// Focusable: a long JSON scrolls, and keyboard users must be able to scroll it.
const json = (v: unknown) => (
  <pre className="json" tabIndex={0}>
    {JSON.stringify(v, null, 2)}
  </pre>
);

function KeyValues({ values, empty }: { values: unknown; empty: string }) {
  const entries = Object.entries((values as Record<string, unknown>) ?? {});
  if (entries.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div className="table-wrap">
      <table className="kv">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td className="mono">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function VersionPage() {
  const { name, version } = versionRoute.useParams();
  const n = Number(version);
  const q = useQuery({
    queryKey: ['version', name, n],
    queryFn: () => gql(VersionQuery, { ref: { model: name, version: n } }),
  });
  if (q.isPending) return <Loading what="Loading the version" />;
  if (q.error) return <ErrorBox error={q.error} />;
  const v = q.data.modelVersion;
  if (!v) return <ErrorBox error={new Error(`no version ${version} of ${name}`)} />;
  const loaded = q.data.loadedVersions.find((l) => l.modelVersion.id === v.id);

  return (
    <Page
      title={`${name} v${v.version}`}
      actions={
        <Link to="/predict" search={{ model: name, a: String(v.version), b: undefined, topK: undefined }}>
          Try a prediction
        </Link>
      }
    >
      <p>
        <Link to="/models/$name" params={{ name }} search={{ metric: undefined }}>
          ← {name}
        </Link>{' '}
        <StatusChip status={v.status} />{' '}
        {v.aliases.map((a) => (
          <Chip key={a}>{a}</Chip>
        ))}
      </p>
      {v.statusReason && <p className="muted">{v.statusReason}</p>}
      <CompareWithBaseline model={name} version={v.version} datasets={q.data.datasets} />
      {!v.derivation && <OptimizeInt8 model={name} version={v.version} datasets={q.data.datasets} />}
      {(v.derivation || v.children.length > 0) && (
        <Section title="Derivation">
          <Derivation model={name} version={v} />
        </Section>
      )}
      <Section title="Artifact">
        <DefinitionList
          items={[
            ['Format', v.format],
            ['Size', fmtBytes(v.sizeBytes)],
            ['Parameters', v.parameters === null ? 'not counted yet' : fmtCount(v.parameters)],
            [
              'Speed',
              v.speed
                ? `${fmtMs(v.speed.batch1Ms)} per image at batch 1, ${Math.round(v.speed.batch32ImagesPerSecond).toLocaleString('en-US')} images/s at batch ${v.speed.throughputBatchSize} ` +
                  `(median in isolation on ${v.speed.executionProvider}, ${v.speed.threads ?? '?'} threads, input ${v.speed.channels}×${v.speed.height}×${v.speed.width}, measured ${fmtDate(v.speed.measuredAt)})`
                : 'not measured yet (a comparison measures it)',
            ],
            [
              'Served by',
              v.remote ? (
                <span>
                  remote engine <span className="mono">{v.remote.url}</span>, model{' '}
                  <span className="mono">{v.remote.model}</span>
                  {v.remote.modelVersion ? ` version ${v.remote.modelVersion}` : ''} (Open Inference Protocol,{' '}
                  {v.remote.protocol === 'BINARY' ? 'binary tensors' : 'JSON'}, {v.remote.timeoutMs} ms timeout)
                </span>
              ) : (
                'this gateway (onnxruntime)'
              ),
            ],
            [
              'Execution providers',
              v.remote
                ? 'chosen by the remote engine'
                : v.executionProviders
                  ? `${v.executionProviders.join(', ')} (this version's preference; cpu last)`
                  : "the gateway's EXECUTION_PROVIDERS",
            ],
            ['Created', fmtDate(v.createdAt)],
            ['Artifact URI', <span className="mono">{v.artifactUri}</span>],
            ['md5', <span className="mono">{v.md5}</span>],
            ['sha256', <span className="mono">{v.sha256}</span>],
            [
              'Derived from',
              v.parent ? (
                <Link to="/models/$name/versions/$version" params={{ name, version: String(v.parent.version) }}>
                  v{v.parent.version}
                </Link>
              ) : null,
            ],
            [
              'Load state',
              loaded
                ? `${loaded.state} on ${loaded.executionProvider ?? '—'}, ${loaded.memoryMB} MB, ${loaded.requests} requests`
                : 'not loaded',
            ],
          ]}
        />
      </Section>
      <Section title="DVC provenance">
        {v.dvc ? (
          <DefinitionList
            items={[
              ['Repository', <span className="mono">{v.dvc.repo}</span>],
              ['Path', <span className="mono">{v.dvc.path}</span>],
              ['Revision', <span className="mono">{v.dvc.rev ?? 'working tree'}</span>],
              ['DVC md5', <span className="mono">{v.dvc.md5}</span>],
              ['Remote', v.dvc.remote],
              ['Dirty', v.dvc.dirty ? 'yes: tracked files differed from the revision' : 'no'],
            ]}
          />
        ) : (
          <Empty>Not imported from DVC.</Empty>
        )}
      </Section>
      <Section title="MLflow run">
        {v.mlflowRun ? <MlflowRun run={v.mlflowRun} /> : <Empty>Not linked to an MLflow run.</Empty>}
      </Section>
      <Section title="Tags">
        <KeyValues values={v.tags} empty="No tags." />
      </Section>
      <Section title="Signature">{json(v.signature)}</Section>
      <Section title="Input spec">{json(v.model.inputSpec)}</Section>
    </Page>
  );
}

type Version = NonNullable<UiVersionQuery['modelVersion']>;

/** How the version was made from its parent (an optimization), and the versions made from it. */
function Derivation({ model, version: v }: { model: string; version: Version }) {
  const d = v.derivation;
  const c = d?.optimization?.comparison;
  return (
    <>
      {d && (
        <DefinitionList
          items={[
            [
              'Parent',
              v.parent ? (
                <Link to="/models/$name/versions/$version" params={{ name: model, version: String(v.parent.version) }}>
                  v{v.parent.version}
                </Link>
              ) : (
                'removed'
              ),
            ],
            ['Method', d.method === 'INT8_STATIC' ? 'Static int8 (QDQ)' : d.method],
            [
              'Calibration',
              d.calibrationDataset
                ? `${d.calibrationItems ?? '?'} images of ${d.calibrationDataset}, ${d.calibrationMethod ?? 'PERCENTILE'}`
                : null,
            ],
            ['Quantized nodes', d.quantizedNodes],
            [
              'Weight-only dequantizations folded first',
              d.foldedDequantize === 0 ? 'none: the source was fp32' : d.foldedDequantize,
            ],
            ['Tool', d.tool && <span className="mono">{d.tool}</span>],
            [
              'Comparison with the parent',
              c ? (
                <Link to="/comparisons/$id" params={{ id: c.id }}>
                  {c.verdict
                    ? `${c.verdict.replaceAll('_', ' ').toLowerCase()}${c.nonInferior === null ? '' : c.nonInferior ? ', non-inferior' : ', not shown non-inferior'}`
                    : c.status.toLowerCase()}
                </Link>
              ) : null,
            ],
          ]}
        />
      )}
      {v.children.length > 0 && (
        <p>
          Derived from this version:{' '}
          {v.children.map((child, i) => (
            <span key={child.version}>
              {i > 0 && ', '}
              <Link to="/models/$name/versions/$version" params={{ name: model, version: String(child.version) }}>
                v{child.version}
              </Link>{' '}
              <StatusChip status={child.status} />
            </span>
          ))}
        </p>
      )}
    </>
  );
}

/** Optimize (int8): queues an optimization of this version and follows it on the comparisons page once it has a comparison. */
function OptimizeInt8(props: {
  model: string;
  version: number;
  datasets: { name: string; version: number; size: number }[];
}) {
  const operator = useCan('operator');
  const [dataset, setDataset] = useState('');
  const [limit, setLimit] = useState('200');
  const [queued, setQueued] = useState<{ id: string; status: string } | null>(null);
  const { busy, error, act } = useAction();
  if (!operator) return null;
  const names = [...new Set(props.datasets.map((d) => d.name))];
  const chosen = dataset || names[0] || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const { optimizeVersion } = await gql(OptimizeVersion, {
        input: {
          ref: { model: props.model, version: props.version },
          method: 'INT8_STATIC',
          calibration: { dataset: chosen, limit: limit ? Number(limit) : null },
        },
      });
      setQueued(optimizeVersion);
    });
  };
  return (
    <form className="inline-form card" onSubmit={submit} aria-label="Optimize (int8)">
      <label>
        Calibration dataset
        <select value={chosen} onChange={(e) => setDataset(e.target.value)}>
          {names.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label>
        Images
        <input type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} />
      </label>
      <button type="submit" disabled={busy || !chosen}>
        Optimize (int8)
      </button>
      {queued && (
        <p role="status">
          Optimization {queued.id} is {queued.status.toLowerCase()}: the int8 version appears here as a derived version,
          then its comparison with this one.
        </p>
      )}
      {error != null && <ErrorBox error={error} />}
    </form>
  );
}

type Run = NonNullable<NonNullable<UiVersionQuery['modelVersion']>['mlflowRun']>;

function MlflowRun({ run }: { run: Run }) {
  const byKey = useMemo(() => {
    const m = new Map<string, { x: number; y: number }[]>();
    for (const p of run.metricHistory) {
      if (!m.has(p.key)) m.set(p.key, []);
      // NaN and ±Infinity (value null) cannot be drawn.
      if (p.value != null) m.get(p.key)!.push({ x: p.step, y: p.value });
    }
    return [...m.entries()].filter(([, pts]) => pts.length > 1);
  }, [run.metricHistory]);
  return (
    <>
      <DefinitionList
        items={[
          ['Run', `${run.runName ?? '(no name)'} · ${run.runId}`],
          ['Experiment', `${run.experimentName ?? ''} (${run.experimentId})`],
          ['Status', run.status],
          ['Started', fmtDate(run.startTime)],
          ['Ended', fmtDate(run.endTime)],
          ['Tracking URI', <span className="mono">{run.trackingUri}</span>],
        ]}
      />
      <h3>Parameters</h3>
      <KeyValues values={run.params} empty="No parameters." />
      <h3>Metrics (latest values)</h3>
      <KeyValues values={run.metrics} empty="No metrics." />
      <h3>Metric histories</h3>
      {byKey.length === 0 ? (
        <Empty>No metric was logged at more than one step.</Empty>
      ) : (
        <div className="grid">
          {byKey.map(([key, pts]) => (
            <HistoryFigure key={key} name={key} points={pts} />
          ))}
        </div>
      )}
    </>
  );
}

function HistoryFigure({ name, points }: { name: string; points: { x: number; y: number }[] }) {
  const make = useMemo(() => lineChart(points, 'Step', name), [points, name]);
  const last = points[points.length - 1]!;
  return (
    <Figure
      name={`history-${name}`}
      title={`${name} over ${points.length} steps, last ${last.y.toPrecision(4)}`}
      make={make}
    />
  );
}

function CompareWithBaseline(props: {
  model: string;
  version: number;
  datasets: { name: string; version: number; size: number }[];
}) {
  const operator = useCan('operator');
  const navigate = useNavigate();
  const [dataset, setDataset] = useState('');
  const [limit, setLimit] = useState('');
  const { busy, error, act } = useAction();
  if (!operator) return null;
  const names = [...new Set(props.datasets.map((d) => d.name))];
  const chosen = dataset || names[0] || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const { startComparison } = await gql(StartComparison, {
        input: {
          candidate: { model: props.model, version: props.version },
          dataset: chosen,
          limit: limit ? Number(limit) : null,
        },
      });
      await navigate({ to: '/comparisons/$id', params: { id: startComparison.id } });
    });
  };
  return (
    <form className="inline-form card" onSubmit={submit} aria-label="Compare with baseline">
      <label>
        Dataset
        <select value={chosen} onChange={(e) => setDataset(e.target.value)}>
          {names.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label>
        Limit (items)
        <input type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} placeholder="all" />
      </label>
      <button type="submit" className="primary" disabled={busy || !chosen}>
        Compare with baseline
      </button>
      {error != null && <ErrorBox error={error} />}
    </form>
  );
}
