import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useId, useState, type FormEvent } from 'react';
import { Chip, Empty, ErrorBox, Loading, Page, Section, StatusChip } from '../components';
import { graphql } from '../gql';
import type { ExperimentMode, UiExperimentsQuery } from '../gql/graphql';
import { useAction } from '../lib/action';
import { gql } from '../lib/api';
import { armLabel, armShare, DECISION_WORDS, decisionTone, fmtDate } from '../lib/format';
import { ModelChoicesQuery, RuntimeSettingsQuery } from '../lib/operations';
import { useCan } from '../lib/session';
import { experimentsRoute } from '../routes';

const ExperimentsQuery = graphql(`
  query UiExperiments($model: String) {
    experiments(first: 100, model: $model) {
      id
      name
      mode
      status
      decision
      startedAt
      stoppedAt
      promotedVersion
      model {
        name
      }
      arms {
        name
        weight
        isControl
        active
        feedbackCount
        modelVersion {
          version
        }
      }
    }
  }
`);

const StartExperiment = graphql(`
  mutation UiStartExperiment($input: StartExperimentInput!) {
    startExperiment(input: $input) {
      id
      status
    }
  }
`);

type Arm = UiExperimentsQuery['experiments'][number]['arms'][number];

const sharePct = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

function ArmsSummary({ mode, arms }: { mode: string; arms: Arm[] }) {
  return (
    <ul className="plain">
      {arms.map((a) => (
        <li key={a.name}>
          {armLabel(a)}
          {a.isControl && a.name !== 'control' ? <span className="muted"> (control)</span> : null} ·{' '}
          {mode === 'SHADOW' && a.isControl ? 'answers all' : sharePct(armShare(mode, arms, a))}
          {mode === 'SHADOW' && !a.isControl && ' shadowed'}
          {!a.active && (
            <>
              {' '}
              <Chip tone="bad">stopped</Chip>
            </>
          )}
          <span className="muted small"> · {a.feedbackCount} judged</span>
        </li>
      ))}
    </ul>
  );
}

export function ExperimentsPage() {
  const search = experimentsRoute.useSearch();
  const navigate = useNavigate();
  const operator = useCan('operator');
  const choices = useQuery({ queryKey: ['model-choices'], queryFn: () => gql(ModelChoicesQuery) });
  const list = useQuery({
    queryKey: ['experiments', search.model ?? null],
    queryFn: () => gql(ExperimentsQuery, { model: search.model ?? null }),
    refetchInterval: (q) => (q.state.data?.experiments.some((e) => e.status === 'RUNNING') ? 5000 : false),
  });
  // One running experiment per model: the form says so rather than let the gateway refuse.
  const running = new Map(
    (list.data?.experiments ?? []).filter((e) => e.status === 'RUNNING').map((e) => [e.model.name, e] as const),
  );
  // Running first, then stopped; each newest first (the API's order).
  const rows = list.data
    ? [...list.data.experiments].sort((a, b) => Number(a.status !== 'RUNNING') - Number(b.status !== 'RUNNING'))
    : [];
  return (
    <Page title="Experiments">
      <p className="muted">
        Online A/B tests: while one runs, unversioned predictions of its model are routed to its arms, and the true
        labels recorded for them (feedback) feed an always-valid test, safe to watch as it runs.
      </p>
      {operator && <StartForm running={running} />}
      <Section title="Running and recent experiments">
        <label>
          Model{' '}
          <select
            value={search.model ?? ''}
            onChange={(e) =>
              void navigate({
                to: '/experiments',
                search: { ...search, model: e.target.value || undefined, candidate: undefined },
                replace: true,
              })
            }
          >
            <option value="">all models</option>
            {choices.data?.models.map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        {list.isPending && <Loading what="Loading experiments" />}
        {list.error && <ErrorBox error={list.error} />}
        {list.data?.experiments.length === 0 && <Empty>No experiment yet.</Empty>}
        {rows.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Experiment</th>
                  <th scope="col">Model</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Status</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Arms (share, judged answers)</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={e.id}>
                    <th scope="row">
                      <Link to="/experiments/$id" params={{ id: e.id }}>
                        {e.name}
                      </Link>
                      <div className="muted small">#{e.id}</div>
                    </th>
                    <td>
                      <Link to="/models/$name" params={{ name: e.model.name }} search={{ metric: undefined }}>
                        {e.model.name}
                      </Link>
                    </td>
                    <td>{e.mode.toLowerCase()}</td>
                    <td>
                      <StatusChip status={e.status} />
                    </td>
                    <td>
                      <Chip tone={decisionTone(e.decision)}>{DECISION_WORDS[e.decision] ?? e.decision}</Chip>
                      {e.promotedVersion != null && <div className="small">promoted v{e.promotedVersion}</div>}
                    </td>
                    <td>
                      <ArmsSummary mode={e.mode} arms={e.arms} />
                    </td>
                    <td>
                      {fmtDate(e.startedAt)}
                      {e.stoppedAt && <div className="muted small">stopped {fmtDate(e.stoppedAt)}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </Page>
  );
}

interface CandidateRow {
  key: number;
  version: number | '';
  name: string;
  weight: string;
}

let rowKeys = 0;

function StartForm({ running }: { running: Map<string, { id: string; name: string }> }) {
  const search = experimentsRoute.useSearch();
  const navigate = useNavigate();
  const choices = useQuery({ queryKey: ['model-choices'], queryFn: () => gql(ModelChoicesQuery) });
  const settings = useQuery({ queryKey: ['runtime-settings'], queryFn: () => gql(RuntimeSettingsQuery) });
  const pinned = settings.data?.runtime.pinnedAliases.includes('champion') ?? true;
  const mayPromote = useCan(pinned ? 'admin' : 'operator');
  const [name, setName] = useState('');
  const [mode, setMode] = useState<ExperimentMode>('SPLIT');
  const [rows, setRows] = useState<CandidateRow[] | null>(null);
  const [alpha, setAlpha] = useState('0.05');
  const [minSamples, setMinSamples] = useState('100');
  const [maxErrorRate, setMaxErrorRate] = useState('');
  const [maxP99, setMaxP99] = useState('');
  const [minRequests, setMinRequests] = useState('100');
  const [autoPromote, setAutoPromote] = useState(false);
  const { busy, error, act } = useAction();
  const ids = useId();
  if (choices.isPending) return <Loading what="Loading models" />;
  if (choices.error) return <ErrorBox error={choices.error} />;
  const { models } = choices.data;
  const model = models.find((m) => m.name === search.model) ?? models[0];
  if (!model) return null;
  const busyWith = running.get(model.name);
  const baseline = model.aliases.find((a) => a.name === 'baseline')?.version.version;
  const ready = model.versions.filter((v) => v.status === 'READY').map((v) => v.version);
  const offered = ready.filter((v) => v !== baseline);
  const fresh = (version: number | '', key: number, weight: string): CandidateRow => ({
    key,
    version,
    name: version === '' ? '' : `v${version}`,
    weight: mode === 'SHADOW' ? '1' : weight,
  });
  // The first candidate defaults to the newest READY version that is not the control, half the traffic.
  const candidates = rows ?? [fresh(search.candidate ?? offered[offered.length - 1] ?? '', 0, '0.5')];
  const setRow = (key: number, patch: Partial<CandidateRow>) =>
    setRows(candidates.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const weights = candidates.reduce((s, r) => s + (Number(r.weight) || 0), 0);
  const controlShare = mode === 'SPLIT' ? 1 - weights : 1;
  const setModel = (m: string) => {
    setRows(null);
    void navigate({ to: '/experiments', search: { ...search, model: m, candidate: undefined }, replace: true });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const { startExperiment } = await gql(StartExperiment, {
        input: {
          model: model.name,
          name,
          mode,
          arms: candidates.map((r) => ({
            name: r.name.trim() || `v${r.version}`,
            ref: { model: model.name, version: Number(r.version) },
            weight: Number(r.weight),
          })),
          alpha: Number(alpha),
          minSamples: Number(minSamples),
          guardrails: {
            maxErrorRate: maxErrorRate === '' ? null : Number(maxErrorRate) / 100,
            maxLatencyP99Ms: maxP99 === '' ? null : Number(maxP99),
            minRequests: Number(minRequests),
          },
          autoPromote,
        },
      });
      await navigate({ to: '/experiments/$id', params: { id: startExperiment.id } });
    });
  };

  return (
    <Section title="Start an experiment">
      <form className="card stack-form" onSubmit={submit} aria-describedby={`${ids}-control`}>
        <div className="inline-form">
          <label>
            Model
            <select value={model.name} onChange={(e) => setModel(e.target.value)}>
              {models.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </label>
          <label>
            Experiment name
            <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Mode
            <select
              value={mode}
              aria-describedby={`${ids}-mode`}
              onChange={(e) => {
                const m = e.target.value as ExperimentMode;
                setMode(m);
                setRows(candidates.map((r) => ({ ...r, weight: m === 'SHADOW' ? '1' : '0.5' })));
              }}
            >
              <option value="SPLIT">split</option>
              <option value="SHADOW">shadow</option>
            </select>
          </label>
          <p className="muted small mode-hint" id={`${ids}-mode`}>
            {mode === 'SPLIT'
              ? 'Split: each request is answered by one arm, drawn by its share (or by the routing key).'
              : 'Shadow: the control answers every request; candidates also run on a share of them, off the response path.'}
          </p>
        </div>
        {busyWith && (
          <p className="card running-experiment" role="status">
            “
            <Link to="/experiments/$id" params={{ id: busyWith.id }}>
              {busyWith.name}
            </Link>
            ” is running on {model.name}: a model runs one experiment at a time, so stop it first.
          </p>
        )}
        <p id={`${ids}-control`} className={baseline === undefined ? 'error' : 'muted'}>
          {baseline === undefined ? (
            <>
              The control is the model’s “baseline” alias, and {model.name} has none: set it on the{' '}
              <Link to="/models/$name" params={{ name: model.name }} search={{ metric: undefined }}>
                model page
              </Link>{' '}
              first.
            </>
          ) : mode === 'SPLIT' ? (
            <>
              Control: the model’s “baseline” alias, <strong>v{baseline}</strong>, added as the arm “control”; it gets
              the traffic the candidates leave (
              {controlShare > 0 ? `${sharePct(controlShare)}` : 'none: lower the weights'}
              ).
            </>
          ) : (
            <>
              Control: the model’s “baseline” alias, <strong>v{baseline}</strong>, added as the arm “control”; it
              answers every request, and each candidate also runs on its share of them, off the response path.
            </>
          )}
        </p>
        <fieldset>
          <legend>Candidates</legend>
          {candidates.map((r, i) => (
            <div className="inline-form arm-row" key={r.key}>
              <label>
                Candidate {i + 1} version
                <select
                  value={r.version}
                  onChange={(e) => {
                    const v = Number(e.target.value);
                    setRow(r.key, { version: v, name: !r.name || /^v\d+$/.test(r.name) ? `v${v}` : r.name });
                  }}
                >
                  <option value="">choose</option>
                  {offered.map((v) => (
                    <option key={v} value={v}>
                      v{v}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Candidate {i + 1} arm name
                <input
                  value={r.name}
                  pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,39}"
                  maxLength={40}
                  onChange={(e) => setRow(r.key, { name: e.target.value })}
                />
              </label>
              <label>
                Candidate {i + 1} {mode === 'SPLIT' ? 'share of requests (0–1)' : 'share also run (0–1)'}
                <input
                  type="number"
                  step="any"
                  min={mode === 'SPLIT' ? '0.001' : '0'}
                  max="1"
                  value={r.weight}
                  onChange={(e) => setRow(r.key, { weight: e.target.value })}
                />
              </label>
              {candidates.length > 1 && (
                <button type="button" onClick={() => setRows(candidates.filter((x) => x.key !== r.key))}>
                  Remove candidate {i + 1}
                </button>
              )}
            </div>
          ))}
          {candidates.length < 7 && offered.length > candidates.length && (
            <button
              type="button"
              onClick={() =>
                setRows([
                  ...candidates,
                  fresh(offered.find((v) => !candidates.some((r) => r.version === v)) ?? '', ++rowKeys, '0.2'),
                ])
              }
            >
              Add a candidate
            </button>
          )}
        </fieldset>
        <fieldset>
          <legend>Test and guardrails</legend>
          <div className="inline-form">
            <label>
              Alpha
              <input
                type="number"
                step="any"
                min="0.000001"
                max="0.5"
                value={alpha}
                onChange={(e) => setAlpha(e.target.value)}
              />
            </label>
            <label>
              Min. judged answers per arm
              <input type="number" min={1} value={minSamples} onChange={(e) => setMinSamples(e.target.value)} />
            </label>
            <label>
              Max. error rate (%)
              <input
                type="number"
                step="any"
                min="0"
                max="100"
                placeholder="none"
                value={maxErrorRate}
                onChange={(e) => setMaxErrorRate(e.target.value)}
              />
            </label>
            <label>
              Max. p99 latency (ms)
              <input
                type="number"
                step="any"
                min="0"
                placeholder="none"
                value={maxP99}
                onChange={(e) => setMaxP99(e.target.value)}
              />
            </label>
            <label>
              Guardrails judge after (requests)
              <input type="number" min={1} value={minRequests} onChange={(e) => setMinRequests(e.target.value)} />
            </label>
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={autoPromote}
              disabled={!mayPromote}
              onChange={(e) => setAutoPromote(e.target.checked)}
            />
            Promote automatically: move “champion” to a significantly better candidate and stop
            {!mayPromote && <span className="muted small"> (“champion” is pinned: needs an admin key)</span>}
          </label>
        </fieldset>
        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={
              busy || !!busyWith || baseline === undefined || !name.trim() || candidates.some((r) => r.version === '')
            }
          >
            Start experiment
          </button>
        </div>
        {error != null && <ErrorBox error={error} />}
      </form>
    </Section>
  );
}
