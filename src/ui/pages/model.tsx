import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { Figure, lineChart, type Point } from '../charts';
import { Chip, ConfirmButton, Empty, ErrorBox, Loading, Page, Section, StatusChip } from '../components';
import { graphql } from '../gql';
import type { UiModelQuery } from '../gql/graphql';
import { gql } from '../lib/api';
import { fmtBytes, fmtCount, fmtDate, fmtMs, pct } from '../lib/format';
import { RemoveAlias, RuntimeSettingsQuery, SetAlias } from '../lib/operations';
import { useCan } from '../lib/session';
import { modelRoute } from '../routes';

const ModelQuery = graphql(`
  query UiModel($name: String!) {
    model(name: $name) {
      name
      description
      task
      labels
      aliases {
        name
        updatedAt
        version {
          version
        }
      }
      aliasHistory(first: 100) {
        alias
        fromVersion
        toVersion
        actor
        reason
        createdAt
      }
      versions(first: 100) {
        id
        version
        status
        statusReason
        aliases
        sizeBytes
        parameters
        speed {
          batch1Ms
          width
          height
          channels
          executionProvider
          threads
          measuredAt
        }
        createdAt
        parent {
          version
        }
        dvc {
          path
          rev
        }
        mlflowRun {
          runId
          runName
          metrics
        }
      }
    }
    experiments(model: $name, status: RUNNING, first: 1) {
      id
      name
      mode
      startedAt
    }
    comparisons(model: $name, first: 50) {
      id
      status
      finishedAt
      candidate {
        version
      }
      baseline {
        version
      }
      dataset {
        name
        version
      }
      candidateMetrics {
        accuracy
      }
      baselineMetrics {
        accuracy
      }
    }
  }
`);

const load = (name: string) => gql(ModelQuery, { name });

/** Each version's accuracy from the newest succeeded comparison it took part in (as candidate or baseline). */
function latestAccuracy(data: UiModelQuery): Map<number, { accuracy: number; comparison: string; dataset: string }> {
  const out = new Map<number, { accuracy: number; comparison: string; dataset: string }>();
  for (const c of data.comparisons) {
    if (c.status !== 'SUCCEEDED') continue;
    const dataset = `${c.dataset.name}@${c.dataset.version}`;
    for (const [v, m] of [
      [c.candidate.version, c.candidateMetrics],
      [c.baseline.version, c.baselineMetrics],
    ] as const)
      if (m && !out.has(v)) out.set(v, { accuracy: m.accuracy, comparison: c.id, dataset });
  }
  return out;
}

export function ModelPage() {
  const { name } = modelRoute.useParams();
  const search = modelRoute.useSearch();
  const navigate = useNavigate();
  const q = useQuery({ queryKey: ['model', name], queryFn: () => load(name) });
  const settings = useQuery({ queryKey: ['runtime-settings'], queryFn: () => gql(RuntimeSettingsQuery) });
  const accuracy = useMemo(() => (q.data ? latestAccuracy(q.data) : new Map()), [q.data]);

  if (q.isPending) return <Loading what="Loading the model" />;
  if (q.error) return <ErrorBox error={q.error} />;
  const model = q.data.model;
  if (!model) return <ErrorBox error={new Error(`no model ${name}`)} />;
  const running = q.data.experiments[0];

  const metricKeys = [
    ...(accuracy.size ? ['accuracy (latest comparison)'] : []),
    'size (MB)',
    ...[
      ...new Set(model.versions.flatMap((v) => Object.keys((v.mlflowRun?.metrics as Record<string, number>) ?? {}))),
    ].sort(),
  ];
  const metric = search.metric && metricKeys.includes(search.metric) ? search.metric : metricKeys[0]!;
  const points: Point[] = model.versions.flatMap((v) => {
    const y =
      metric === 'accuracy (latest comparison)'
        ? accuracy.get(v.version)?.accuracy
        : metric === 'size (MB)'
          ? Number(v.sizeBytes) / 2 ** 20
          : (v.mlflowRun?.metrics as Record<string, number> | null)?.[metric];
    return typeof y === 'number' ? [{ x: v.version, y }] : [];
  });

  return (
    <Page
      title={model.name}
      actions={
        <>
          <Link to="/predict" search={{ model: model.name, a: undefined, b: undefined, topK: undefined }}>
            Try a prediction
          </Link>
          <Link
            to="/comparisons"
            search={{ model: model.name, candidate: undefined, baseline: undefined, dataset: undefined }}
          >
            Comparisons
          </Link>
          <Link to="/experiments" search={{ model: model.name, candidate: undefined }}>
            Experiments
          </Link>
        </>
      }
    >
      {model.description && <p>{model.description}</p>}
      <p className="muted">
        {model.task} · {model.labels.length} classes: {model.labels.join(', ')}
      </p>
      {running && (
        <p className="card running-experiment">
          <Chip tone="warn">live</Chip> Experiment running:{' '}
          <Link to="/experiments/$id" params={{ id: running.id }}>
            {running.name}
          </Link>{' '}
          <span className="muted small">
            ({running.mode.toLowerCase()}, since {fmtDate(running.startedAt)}): unversioned predictions of {model.name}{' '}
            are routed to its arms.
          </span>
        </p>
      )}
      <Section title="Versions">
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Aliases</th>
                <th scope="col">Size</th>
                <th scope="col">Speed (batch 1)</th>
                <th scope="col">Created</th>
                <th scope="col">DVC path @ rev</th>
                <th scope="col">MLflow run</th>
                <th scope="col">Accuracy (latest comparison)</th>
              </tr>
            </thead>
            <tbody>
              {model.versions.map((v) => {
                const acc = accuracy.get(v.version);
                return (
                  <tr key={v.id}>
                    <th scope="row">
                      <Link
                        to="/models/$name/versions/$version"
                        params={{ name: model.name, version: String(v.version) }}
                      >
                        v{v.version}
                      </Link>
                      {v.parent && <div className="muted small">from v{v.parent.version}</div>}
                    </th>
                    <td>
                      <StatusChip status={v.status} />
                      {v.statusReason && <div className="muted small">{v.statusReason}</div>}
                    </td>
                    <td>
                      {v.aliases.map((a) => (
                        <Chip key={a}>{a}</Chip>
                      ))}
                    </td>
                    <td>
                      {fmtBytes(v.sizeBytes)}
                      {v.parameters !== null && <div className="muted small">{fmtCount(v.parameters)} parameters</div>}
                    </td>
                    <td>
                      {v.speed ? (
                        <span
                          title={`median in isolation, ${v.speed.executionProvider}, ${v.speed.threads ?? '?'} threads, input ${v.speed.channels}×${v.speed.height}×${v.speed.width}, measured ${fmtDate(v.speed.measuredAt)}`}
                        >
                          {fmtMs(v.speed.batch1Ms)}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{fmtDate(v.createdAt)}</td>
                    <td className="mono small">
                      {v.dvc ? `${v.dvc.path} @ ${v.dvc.rev?.slice(0, 8) ?? 'workspace'}` : '—'}
                    </td>
                    <td>{v.mlflowRun ? (v.mlflowRun.runName ?? v.mlflowRun.runId.slice(0, 8)) : '—'}</td>
                    <td>
                      {acc ? (
                        <Link to="/comparisons/$id" params={{ id: acc.comparison }} title={`on ${acc.dataset}`}>
                          {pct(acc.accuracy)}
                        </Link>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="A metric across versions">
        <label>
          Metric{' '}
          <select
            value={metric}
            onChange={(e) =>
              void navigate({
                to: '/models/$name',
                params: { name },
                search: { metric: e.target.value },
                replace: true,
              })
            }
          >
            {metricKeys.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        {points.length === 0 ? (
          <Empty>No version has a value for {metric}.</Empty>
        ) : (
          <MetricFigure points={points} metric={metric} />
        )}
      </Section>
      <AliasPanel
        model={model.name}
        aliases={model.aliases.map((a) => ({ name: a.name, version: a.version.version, updatedAt: a.updatedAt }))}
        history={model.aliasHistory}
        readyVersions={model.versions.filter((v) => v.status === 'READY').map((v) => v.version)}
        pinned={settings.data?.runtime.pinnedAliases ?? []}
      />
    </Page>
  );
}

function MetricFigure({ points, metric }: { points: Point[]; metric: string }) {
  const best = points.reduce((a, b) => (b.y > a.y ? b : a));
  const make = useMemo(() => lineChart(points, 'Version', metric, { versions: true }), [points, metric]);
  return (
    <Figure
      name="metric-by-version"
      title={`${metric} by version: highest at v${best.x} (${best.y.toPrecision(4)})`}
      make={make}
    />
  );
}

interface AliasEvent {
  alias: string;
  fromVersion?: number | null;
  toVersion?: number | null;
  actor: string;
  reason?: string | null;
  createdAt: string;
}

function AliasPanel(props: {
  model: string;
  aliases: { name: string; version: number; updatedAt: string }[];
  history: AliasEvent[];
  readyVersions: number[];
  pinned: string[];
}) {
  const { model, aliases, history, readyVersions, pinned } = props;
  const queryClient = useQueryClient();
  const operator = useCan('operator');
  const admin = useCan('admin');
  const may = (alias: string) => (pinned.includes(alias) ? admin : operator);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['model', model] }),
      queryClient.invalidateQueries({ queryKey: ['models'] }),
    ]);
  const move = async (alias: string, version: number) => {
    await gql(SetAlias, { model, alias, version });
    await refresh();
  };
  const [newAlias, setNewAlias] = useState('');
  const [newVersion, setNewVersion] = useState<number | ''>('');
  const [targets, setTargets] = useState<Record<string, number>>({});

  return (
    <>
      <Section title="Aliases">
        {aliases.length === 0 && <Empty>No aliases yet.</Empty>}
        <ul className="alias-list">
          {aliases.map((a) => {
            // The version this alias pointed at before its latest move: what "roll back" restores.
            const last = [...history].reverse().find((e) => e.alias === a.name && e.toVersion === a.version);
            const previous = last?.fromVersion ?? null;
            const target = targets[a.name] ?? readyVersions.find((v) => v !== a.version);
            return (
              <li key={a.name}>
                <div>
                  <strong>{a.name}</strong> → v{a.version}
                  {pinned.includes(a.name) && <Chip tone="muted">pinned: admin only</Chip>}
                  <span className="muted small"> since {fmtDate(a.updatedAt)}</span>
                </div>
                {may(a.name) && (
                  <div className="actions">
                    <label>
                      Move {a.name} to{' '}
                      <select
                        value={target ?? ''}
                        onChange={(e) => setTargets({ ...targets, [a.name]: Number(e.target.value) })}
                      >
                        {readyVersions
                          .filter((v) => v !== a.version)
                          .map((v) => (
                            <option key={v} value={v}>
                              v{v}
                            </option>
                          ))}
                      </select>
                    </label>
                    <ConfirmButton
                      label={`Move ${a.name}`}
                      disabled={target === undefined}
                      question={`Move “${a.name}” of ${model} from v${a.version} to v${target}? Requests that use “${a.name}” are served by v${target} from then on.`}
                      onConfirm={() => move(a.name, target!)}
                    />
                    {previous != null && previous !== a.version && readyVersions.includes(previous) && (
                      <ConfirmButton
                        label={`Roll back ${a.name} to v${previous}`}
                        question={`Move “${a.name}” of ${model} back from v${a.version} to v${previous}, where it pointed before?`}
                        confirmLabel="Roll back"
                        onConfirm={() => move(a.name, previous)}
                      />
                    )}
                    <ConfirmButton
                      label={`Remove ${a.name}`}
                      question={`Remove the alias “${a.name}” (now v${a.version}) from ${model}? Requests that name it will fail.`}
                      confirmLabel="Remove"
                      className="danger"
                      onConfirm={async () => {
                        await gql(RemoveAlias, { model, alias: a.name });
                        await refresh();
                      }}
                    />
                  </div>
                )}
              </li>
            );
          })}
        </ul>
        {operator && readyVersions.length > 0 && (
          <form className="inline-form" onSubmit={(e) => e.preventDefault()} aria-label="Add an alias">
            <label>
              New alias
              <input value={newAlias} onChange={(e) => setNewAlias(e.target.value.trim())} placeholder="e.g. staging" />
            </label>
            <label>
              Version
              <select value={newVersion} onChange={(e) => setNewVersion(Number(e.target.value))}>
                <option value="">choose</option>
                {readyVersions.map((v) => (
                  <option key={v} value={v}>
                    v{v}
                  </option>
                ))}
              </select>
            </label>
            <ConfirmButton
              label="Set alias"
              disabled={!newAlias || newVersion === ''}
              question={`Point “${newAlias}” of ${model} at v${newVersion}${aliases.some((a) => a.name === newAlias) ? ` (it now points at v${aliases.find((a) => a.name === newAlias)!.version})` : ''}?`}
              onConfirm={async () => {
                await move(newAlias, Number(newVersion));
                setNewAlias('');
                setNewVersion('');
              }}
            />
          </form>
        )}
      </Section>
      <Section title="Alias history">
        {history.length === 0 ? (
          <Empty>No alias has moved yet.</Empty>
        ) : (
          <ol className="timeline" aria-label="Alias moves, newest first">
            {[...history].reverse().map((e, i) => (
              <li key={i}>
                <time dateTime={e.createdAt}>{fmtDate(e.createdAt)}</time>
                <span>
                  <strong>{e.alias}</strong>{' '}
                  {e.fromVersion == null
                    ? `set to v${e.toVersion}`
                    : e.toVersion == null
                      ? `removed (was v${e.fromVersion})`
                      : `v${e.fromVersion} → v${e.toVersion}`}
                </span>
                <span className="muted small">
                  by {e.actor}
                  {e.reason ? `: ${e.reason}` : ''}
                </span>
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}
