import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useMemo } from 'react';
import {
  confusionChart,
  Figure,
  forestChart,
  groupedBars,
  matrixCells,
  reliabilityChart,
  type Bar,
  type Bin,
  type Interval,
} from '../charts';
import {
  Chip,
  ConfirmButton,
  DefinitionList,
  ErrorBox,
  Loading,
  Page,
  Progress,
  Section,
  StatusChip,
} from '../components';
import { graphql } from '../gql';
import type { UiComparisonQuery, UiMetricsFragment } from '../gql/graphql';
import { useAction } from '../lib/action';
import { gql } from '../lib/api';
import { fmtBytes, fmtCount, fmtDate, fmtMs, ms, num, pct, pts, VERDICT_WORDS } from '../lib/format';
import { RuntimeSettingsQuery, SetAlias } from '../lib/operations';
import { useProgress } from '../lib/progress';
import { useCan } from '../lib/session';
import { comparisonRoute } from '../routes';

graphql(`
  fragment UiMetrics on VersionMetrics {
    n
    accuracy
    macroF1
    top5Accuracy
    ece
    nll
    brier
    meanConfidence
    queuedLatencyMsP50
    queuedLatencyMsP95
    queuedThroughput
    sizeBytes
    parameters
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
    }
    confusionMatrix
    perClass
    reliability
  }
`);

const ComparisonQuery = graphql(`
  query UiComparison($id: ID!) {
    comparison(id: $id) {
      id
      status
      progress
      itemsDone
      total
      etaSeconds
      alpha
      n
      verdict
      summary
      error
      nonInferior
      nonInferiorityMargin
      createdAt
      finishedAt
      accuracyDelta
      accuracyDeltaCi95
      macroF1Delta
      macroF1DeltaCi95
      mcnemarPValue
      mcnemarMidP
      agreement
      discordantBaselineOnly
      discordantCandidateOnly
      candidate {
        version
        aliases
        model {
          name
        }
      }
      baseline {
        version
        aliases
      }
      dataset {
        name
        version
        labels
      }
      baselineMetrics {
        ...UiMetrics
      }
      candidateMetrics {
        ...UiMetrics
      }
      disagreements(first: 48) {
        ordinal
        path
        label
        baselineLabel
        baselineProbability
        candidateLabel
        candidateProbability
      }
    }
  }
`);

const ReportQuery = graphql(`
  query UiComparisonReport($id: ID!, $format: ReportFormat!) {
    comparison(id: $id) {
      report(format: $format)
    }
  }
`);

const CancelComparison = graphql(`
  mutation UiCancelComparison($id: ID!) {
    cancelComparison(id: $id) {
      id
      status
    }
  }
`);

type C = NonNullable<UiComparisonQuery['comparison']>;

export function ComparisonPage() {
  const { id } = comparisonRoute.useParams();
  const queryClient = useQueryClient();
  const q = useQuery({ queryKey: ['comparison', id], queryFn: () => gql(ComparisonQuery, { id }) });
  const c = q.data?.comparison;
  const running = c?.status === 'QUEUED' || c?.status === 'RUNNING';
  const live = useProgress(id, !!running, () => void queryClient.invalidateQueries({ queryKey: ['comparison', id] }));
  const operator = useCan('operator');

  if (q.isPending) return <Loading what="Loading the comparison" />;
  if (q.error) return <ErrorBox error={q.error} />;
  if (!c) return <ErrorBox error={new Error(`no comparison ${id}`)} />;
  const model = c.candidate.model.name;
  const title = `Comparison #${c.id}: ${model} v${c.candidate.version} vs v${c.baseline.version}`;
  const p = live ?? c;

  return (
    <Page title={title} actions={c.status === 'SUCCEEDED' ? <Downloads id={c.id} /> : undefined}>
      <p className="muted">
        On {c.dataset.name}@{c.dataset.version} · alpha {c.alpha}
        {c.nonInferiorityMargin != null &&
          ` · non-inferiority margin ${(c.nonInferiorityMargin * 100).toFixed(1)} pts`}{' '}
        · started {fmtDate(c.createdAt)} ·{' '}
        <Link to="/models/$name" params={{ name: model }} search={{ metric: undefined }}>
          {model}
        </Link>
      </p>
      {running && (
        <div className="card">
          <Progress value={p.progress} label="Comparison progress" />
          <p className="muted small">
            {p.itemsDone} of {p.total} items · {p.status.toLowerCase()}
            {p.etaSeconds != null && ` · about ${Math.ceil(p.etaSeconds)} s left`}
          </p>
          {operator && (
            <ConfirmButton
              label="Cancel comparison"
              question={`Stop comparison #${c.id} at its next checkpoint? Its partial results are discarded.`}
              className="danger"
              onConfirm={async () => {
                await gql(CancelComparison, { id: c.id });
                await queryClient.invalidateQueries({ queryKey: ['comparison', id] });
              }}
            />
          )}
        </div>
      )}
      {!running && c.status !== 'SUCCEEDED' && (
        <div className="card">
          <StatusChip status={c.status} /> {c.error}
        </div>
      )}
      {c.status === 'SUCCEEDED' && <Result c={c} />}
    </Page>
  );
}

function Result({ c }: { c: C }) {
  const b = c.baselineMetrics!;
  const k = c.candidateMetrics!;
  const labels = c.dataset.labels;
  return (
    <>
      <div
        className={`verdict card ${c.verdict === 'CANDIDATE_BETTER' ? 'ok' : c.verdict === 'BASELINE_BETTER' ? 'bad' : ''}`}
      >
        <h2>{VERDICT_WORDS[c.verdict ?? ''] ?? 'No verdict'}</h2>
        <p>{c.summary}</p>
        {c.nonInferior != null && (
          <p>
            Non-inferior within the margin: <strong>{c.nonInferior ? 'yes' : 'no'}</strong>
          </p>
        )}
        <Promote c={c} />
      </div>
      <Section title="Paired differences">
        <ForestFigure c={c} />
        <DefinitionList
          items={[
            ['Items', String(c.n)],
            [
              'Accuracy difference',
              `${pts(c.accuracyDelta)} (95% CI ${pts(c.accuracyDeltaCi95?.[0])} to ${pts(c.accuracyDeltaCi95?.[1])})`,
            ],
            [
              'Macro-F1 difference',
              `${pts(c.macroF1Delta)} (95% CI ${pts(c.macroF1DeltaCi95?.[0])} to ${pts(c.macroF1DeltaCi95?.[1])})`,
            ],
            ['McNemar exact p', num(c.mcnemarPValue, 4)],
            ['McNemar mid-p', num(c.mcnemarMidP, 4)],
            ['Only the baseline right (b)', String(c.discordantBaselineOnly)],
            ['Only the candidate right (c)', String(c.discordantCandidateOnly)],
            ['Agreement', pct(c.agreement)],
          ]}
        />
      </Section>
      <Section title="Per-version metrics">
        <MetricsTable b={b} k={k} baseline={c.baseline.version} candidate={c.candidate.version} />
      </Section>
      <Section title="Confusion matrices">
        <Confusions labels={labels} b={b} k={k} bv={c.baseline.version} kv={c.candidate.version} />
      </Section>
      <Section title="Calibration">
        <div className="grid two">
          <ReliabilityFigure m={b} who={`Baseline v${c.baseline.version}`} />
          <ReliabilityFigure m={k} who={`Candidate v${c.candidate.version}`} />
        </div>
      </Section>
      <Section title="Per-class F1">
        <F1Figure b={b} k={k} bv={c.baseline.version} kv={c.candidate.version} />
      </Section>
      <Section title="Where they disagree">
        <Gallery c={c} />
      </Section>
    </>
  );
}

function ForestFigure({ c }: { c: C }) {
  const make = useMemo(() => {
    const rows: Interval[] = [
      {
        name: 'Accuracy',
        estimate: c.accuracyDelta!,
        lower: c.accuracyDeltaCi95![0]!,
        upper: c.accuracyDeltaCi95![1]!,
      },
      { name: 'Macro-F1', estimate: c.macroF1Delta!, lower: c.macroF1DeltaCi95![0]!, upper: c.macroF1DeltaCi95![1]! },
    ];
    return forestChart(rows, c.nonInferiorityMargin ?? null);
  }, [c]);
  // Worded by the verdict (McNemar at alpha), as the HTML report is: a CI that excludes 0 alone does not make "better".
  const numbers = `${pts(c.accuracyDelta)} (95% CI ${pts(c.accuracyDeltaCi95![0])} to ${pts(c.accuracyDeltaCi95![1])})`;
  const finding =
    c.verdict === 'CANDIDATE_BETTER'
      ? `Candidate more accurate: ${numbers}`
      : c.verdict === 'BASELINE_BETTER'
        ? `Baseline more accurate: ${numbers}`
        : `No significant accuracy difference at alpha ${c.alpha} (McNemar p = ${num(c.mcnemarPValue, 3)}): ${numbers}`;
  return <Figure name="forest" title={finding} make={make} />;
}

function MetricsTable({
  b,
  k,
  baseline,
  candidate,
}: {
  b: UiMetricsFragment;
  k: UiMetricsFragment;
  baseline: number;
  candidate: number;
}) {
  const rows: [string, (m: UiMetricsFragment) => string][] = [
    ['Accuracy', (m) => pct(m.accuracy)],
    ['Macro-F1', (m) => pct(m.macroF1)],
    ['Top-5 accuracy', (m) => pct(m.top5Accuracy)],
    ['Expected calibration error', (m) => num(m.ece, 4)],
    ['Negative log-likelihood', (m) => num(m.nll, 4)],
    ['Brier score', (m) => num(m.brier, 4)],
    ['Mean confidence', (m) => pct(m.meanConfidence)],
    [
      'Speed at batch 1, in isolation (median)',
      (m) => (m.speed ? `${fmtMs(m.speed.batch1Ms)} per image` : 'not measured'),
    ],
    [
      'Throughput at batch 32, in isolation (images/s)',
      (m) =>
        m.speed
          ? `${Math.round(m.speed.batch32ImagesPerSecond).toLocaleString('en-US')}${m.speed.throughputBatchSize === 32 ? '' : ` (batches of ${m.speed.throughputBatchSize})`}`
          : 'not measured',
    ],
    [
      'Speed measured on',
      (m) =>
        m.speed
          ? `${m.speed.executionProvider}, ${m.speed.threads ?? '?'} threads, input ${m.speed.channels}×${m.speed.height}×${m.speed.width}`
          : '—',
    ],
    ['Parameters', (m) => fmtCount(m.parameters)],
    ['Model file size', (m) => fmtBytes(m.sizeBytes)],
    ['Latency p50 in the queued run (not the speed)', (m) => ms(m.queuedLatencyMsP50)],
    ['Latency p95 in the queued run', (m) => ms(m.queuedLatencyMsP95)],
    ['Throughput of the queued run (items/s)', (m) => num(m.queuedThroughput, 1)],
  ];
  return (
    <div className="table-wrap">
      <table className="metrics">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Baseline v{baseline}</th>
            <th scope="col">Candidate v{candidate}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, f]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{f(b)}</td>
              <td>{f(k)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Confusions({
  labels,
  b,
  k,
  bv,
  kv,
}: {
  labels: string[];
  b: UiMetricsFragment;
  k: UiMetricsFragment;
  bv: number;
  kv: number;
}) {
  const [makeB, makeK, makeD, moved] = useMemo(() => {
    const diff = k.confusionMatrix.map((row, i) => row.map((v, j) => v - b.confusionMatrix[i]![j]!));
    const gained = diff.reduce((s, row, i) => s + row[i]!, 0);
    return [
      confusionChart(labels, matrixCells(labels, b.confusionMatrix)),
      confusionChart(labels, matrixCells(labels, k.confusionMatrix)),
      confusionChart(labels, matrixCells(labels, diff), true),
      gained,
    ] as const;
  }, [labels, b, k]);
  return (
    <>
      <div className="grid two">
        <Figure name="confusion-baseline" title={`Baseline v${bv}: ${pct(b.accuracy)} on the diagonal`} make={makeB} />
        <Figure
          name="confusion-candidate"
          title={`Candidate v${kv}: ${pct(k.accuracy)} on the diagonal`}
          make={makeK}
        />
      </div>
      <Figure
        name="confusion-difference"
        title={`Difference (candidate − baseline): ${moved >= 0 ? '+' : ''}${moved} items on the diagonal. Red: the candidate has more; blue: fewer (more is better on the diagonal, fewer elsewhere).`}
        make={makeD}
      />
    </>
  );
}

function ReliabilityFigure({ m, who }: { m: UiMetricsFragment; who: string }) {
  const make = useMemo(() => reliabilityChart(m.reliability as Bin[]), [m]);
  const over = m.meanConfidence > m.accuracy;
  return (
    <Figure
      name="reliability"
      title={`${who}: ECE ${num(m.ece, 3)}, ${over ? 'over' : 'under'}confident on average (confidence ${pct(m.meanConfidence)} vs accuracy ${pct(m.accuracy)})`}
      make={make}
    />
  );
}

function F1Figure({ b, k, bv, kv }: { b: UiMetricsFragment; k: UiMetricsFragment; bv: number; kv: number }) {
  const rows = useMemo(() => {
    const side = (m: UiMetricsFragment, group: string): Bar[] =>
      (m.perClass as { label: string; f1: number }[]).map((r) => ({ label: r.label, group, value: r.f1 }));
    return [...side(b, `Baseline v${bv}`), ...side(k, `Candidate v${kv}`)];
  }, [b, k, bv, kv]);
  const make = useMemo(() => groupedBars(rows, 'F1', [0, 1]), [rows]);
  const per = (b.perClass as { label: string; f1: number }[]).map((r, i) => ({
    label: r.label,
    d: (k.perClass as { f1: number }[])[i]!.f1 - r.f1,
  }));
  const best = per.reduce((a, x) => (x.d > a.d ? x : a), per[0]!);
  const worst = per.reduce((a, x) => (x.d < a.d ? x : a), per[0]!);
  return (
    <Figure
      name="per-class-f1"
      title={`Largest F1 gain: ${best.label} (${pts(best.d)}); largest loss: ${worst.label} (${pts(worst.d)})`}
      make={make}
    />
  );
}

function Gallery({ c }: { c: C }) {
  const total = (c.discordantBaselineOnly ?? 0) + (c.discordantCandidateOnly ?? 0);
  if (c.disagreements.length === 0) return <p>The two versions agree on every item.</p>;
  const { name, version } = c.dataset;
  return (
    <>
      <p className="muted">
        {c.disagreements.length} of the items whose top-1 differs, in dataset order
        {total > 0 && ` (${total} where exactly one version is right)`}. Green: right; red: wrong.
      </p>
      <ul className="gallery" aria-label="Disagreement images">
        {c.disagreements.map((d) => (
          <li key={d.ordinal}>
            <img
              src={`/datasets/${encodeURIComponent(name)}/items/${d.ordinal}/image?version=${version}&size=96`}
              alt={`Item ${d.ordinal} (${d.path}), true label ${d.label}`}
              width={96}
              height={96}
              className="pixelated"
            />
            <div className="small">
              <div>
                True: <strong>{d.label}</strong>
              </div>
              <div className={d.baselineLabel === d.label ? 'right' : 'wrong'}>
                Baseline: {d.baselineLabel} ({pct(d.baselineProbability, 0)})
              </div>
              <div className={d.candidateLabel === d.label ? 'right' : 'wrong'}>
                Candidate: {d.candidateLabel} ({pct(d.candidateProbability, 0)})
              </div>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

function Promote({ c }: { c: C }) {
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: ['runtime-settings'], queryFn: () => gql(RuntimeSettingsQuery) });
  const pinned = settings.data?.runtime.pinnedAliases.includes('champion') ?? true;
  const allowed = useCan(pinned ? 'admin' : 'operator');
  const model = c.candidate.model.name;
  if (c.candidate.aliases.includes('champion'))
    return (
      <p role="status">
        <Chip tone="ok">v{c.candidate.version} is the champion</Chip>
      </p>
    );
  if (!allowed) return null;
  return (
    <ConfirmButton
      label="Promote candidate"
      className="primary"
      question={`Move “champion” of ${model} to v${c.candidate.version}? Requests that use the champion (and the model's default routing) are served by v${c.candidate.version} from then on.`}
      confirmLabel={`Make v${c.candidate.version} champion`}
      onConfirm={async () => {
        await gql(SetAlias, { model, alias: 'champion', version: c.candidate.version });
        await queryClient.invalidateQueries();
      }}
    />
  );
}

function Downloads({ id }: { id: string }) {
  const { error, act } = useAction();
  const download = (format: 'HTML' | 'MARKDOWN') =>
    act(async () => {
      const { comparison } = await gql(ReportQuery, { id, format });
      const blob = new Blob([comparison?.report ?? ''], { type: format === 'HTML' ? 'text/html' : 'text/markdown' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `comparison-${id}.${format === 'HTML' ? 'html' : 'md'}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    });
  return (
    <>
      <button type="button" onClick={() => download('HTML')}>
        HTML report
      </button>
      <button type="button" onClick={() => download('MARKDOWN')}>
        Markdown report
      </button>
      <a className="button" href={`/comparisons/${encodeURIComponent(id)}/items.csv`} download>
        Per-item CSV
      </a>
      {error != null && <ErrorBox error={error} />}
    </>
  );
}
