import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useMemo, type ReactNode } from 'react';
import {
  armColors,
  confidenceSequenceChart,
  cumulativeAccuracyChart,
  Figure,
  pValueChart,
  type ArmColors,
  type ArmPoint,
  type BandPoint,
} from '../charts';
import {
  Chip,
  ConfirmButton,
  DefinitionList,
  Empty,
  ErrorBox,
  Loading,
  Page,
  Section,
  StatusChip,
} from '../components';
import { graphql } from '../gql';
import type { UiExperimentQuery } from '../gql/graphql';
import { gql } from '../lib/api';
import {
  armLabel,
  armShare,
  DECISION_WORDS,
  decisionTone,
  fmtCount,
  fmtDate,
  fmtMs,
  fmtP,
  pct,
  pIs,
  pts,
} from '../lib/format';
import { RuntimeSettingsQuery } from '../lib/operations';
import { useCan } from '../lib/session';
import { experimentRoute } from '../routes';

const ExperimentQuery = graphql(`
  query UiExperiment($id: ID!) {
    experiment(id: $id) {
      id
      name
      mode
      status
      decision
      decisionReason
      alpha
      minSamples
      autoPromote
      promotedVersion
      createdBy
      startedAt
      stoppedAt
      stoppedBy
      guardrails {
        maxErrorRate
        maxLatencyP99Ms
        minRequests
      }
      model {
        name
      }
      control {
        name
      }
      arms {
        name
        weight
        isControl
        active
        stoppedReason
        requests
        errors
        errorsByCode
        shadowDropped
        latencyP50Ms
        latencyP99Ms
        feedbackCount
        correct
        accuracy
        agreement
        modelVersion {
          version
          aliases
        }
        test {
          method
          pValue
          estimate
          confidenceSequence
          samples
          controlOnlyRight
          candidateOnlyRight
          decision
        }
      }
      series(points: 200) {
        arm
        at
        feedback
        correct
        accuracy
        pValue
        csLow
        csHigh
      }
    }
  }
`);

const StopExperiment = graphql(`
  mutation UiStopExperiment($id: ID!, $promote: Boolean) {
    stopExperiment(id: $id, promote: $promote) {
      id
      status
      decision
      promotedVersion
    }
  }
`);

type E = NonNullable<UiExperimentQuery['experiment']>;
type Arm = E['arms'][number];

/** The candidate the test found better, best estimate first (what "Stop & promote" moves champion to). */
const winnerOf = (e: E): Arm | undefined =>
  e.arms
    .filter((a) => !a.isControl && a.test?.decision === 'CANDIDATE_BETTER')
    .sort((a, b) => (b.test?.estimate ?? 0) - (a.test?.estimate ?? 0))[0];

export function ExperimentPage() {
  const { id } = experimentRoute.useParams();
  const q = useQuery({
    queryKey: ['experiment', id],
    queryFn: () => gql(ExperimentQuery, { id }),
    // Live while it runs: new traffic, feedback and the test's state every 2 s.
    refetchInterval: (query) => (query.state.data?.experiment?.status === 'RUNNING' ? 2000 : false),
    staleTime: 0,
  });
  const e = q.data?.experiment;
  if (q.isPending) return <Loading what="Loading the experiment" />;
  if (q.error) return <ErrorBox error={q.error} />;
  if (!e) return <ErrorBox error={new Error(`no experiment ${id}`)} />;
  const model = e.model.name;
  return (
    <Page title={`Experiment #${e.id}: ${e.name}`}>
      <p className="muted">
        <Link to="/models/$name" params={{ name: model }} search={{ metric: undefined }}>
          {model}
        </Link>{' '}
        · {e.mode === 'SPLIT' ? 'split traffic' : 'shadow traffic'} · <StatusChip status={e.status} /> · started{' '}
        {fmtDate(e.startedAt)} by {e.createdBy}
        {e.stoppedAt && ` · stopped ${fmtDate(e.stoppedAt)}${e.stoppedBy ? ` by ${e.stoppedBy}` : ''}`} ·{' '}
        <Link to="/experiments" search={{ model, candidate: undefined }}>
          all experiments of {model}
        </Link>
      </p>
      <Decision e={e} />
      <Section title="Arms">
        <ArmsTable e={e} />
      </Section>
      <Section title="The always-valid test">
        <Charts e={e} />
      </Section>
      <Section title="Settings">
        <DefinitionList
          items={[
            [
              'Mode',
              e.mode === 'SPLIT'
                ? 'SPLIT: each request answered by one arm'
                : 'SHADOW: the control answers, candidates run alongside',
            ],
            ['Alpha', String(e.alpha)],
            ['Judged answers an arm needs before a decision', fmtCount(e.minSamples)],
            ['Guardrail: max. error rate', e.guardrails.maxErrorRate == null ? 'none' : pct(e.guardrails.maxErrorRate)],
            [
              'Guardrail: max. p99 latency',
              e.guardrails.maxLatencyP99Ms == null ? 'none' : fmtMs(e.guardrails.maxLatencyP99Ms),
            ],
            ['Guardrails judge an arm after', `${fmtCount(e.guardrails.minRequests)} requests`],
            [
              'Promote automatically',
              e.autoPromote ? 'yes: a significantly better candidate becomes “champion”' : 'no',
            ],
            ['Test', e.arms.find((a) => a.test)?.test?.method ?? '—'],
          ]}
        />
      </Section>
    </Page>
  );
}

/** The decision in plain words, with the numbers behind it. */
function sentence(e: E): ReactNode {
  const control = e.arms.find((a) => a.isControl)!;
  const candidates = e.arms.filter((a) => !a.isControl);
  const c = armLabel(control);
  const figures = (a: Arm) =>
    `${pts(a.test?.estimate)}, always-valid ${pIs(a.test?.pValue)}` +
    (a.test?.confidenceSequence
      ? ` (${Math.round((1 - e.alpha) * 100)}% confidence sequence ${pts(a.test.confidenceSequence[0])} to ${pts(a.test.confidenceSequence[1])})`
      : '');
  const winner = winnerOf(e);
  if (e.decision === 'CANDIDATE_BETTER' && winner)
    return `${armLabel(winner)} is better than ${c}: ${figures(winner)}.`;
  if (e.decision === 'CONTROL_BETTER')
    return `${c} is better than ${candidates.map((a) => `${armLabel(a)} (${figures(a)})`).join('; ')}.`;
  if (e.decision === 'GUARDRAIL_BREACHED') {
    const stopped = candidates.filter((a) => !a.active);
    return stopped.length
      ? stopped.map((a) => `${armLabel(a)} was taken out of traffic: ${a.stoppedReason ?? 'a guardrail'}.`).join(' ')
      : 'A guardrail stopped a candidate’s traffic.';
  }
  const short = e.arms.filter((a) => a.feedbackCount < e.minSamples);
  const perArm = candidates.map((a) => `${armLabel(a)} vs ${c}: ${figures(a)}`).join('; ');
  const lead = e.decision === 'STOPPED' ? 'Stopped before a significant difference' : 'No significant difference yet';
  const wait = short.length
    ? ` It decides at p ≤ ${e.alpha} once every arm has ${fmtCount(e.minSamples)} judged answers (${short.map((a) => `${armLabel(a)} has ${fmtCount(a.feedbackCount)}`).join(', ')}).`
    : e.decision === 'CONTINUE'
      ? ` It decides when p ≤ ${e.alpha}.`
      : '';
  return `${lead}: ${perArm}.${wait}`;
}

function Decision({ e }: { e: E }) {
  const queryClient = useQueryClient();
  const operator = useCan('operator');
  const settings = useQuery({ queryKey: ['runtime-settings'], queryFn: () => gql(RuntimeSettingsQuery) });
  const pinned = settings.data?.runtime.pinnedAliases.includes('champion') ?? true;
  const mayPromote = useCan(pinned ? 'admin' : 'operator');
  const winner = winnerOf(e);
  const stop = async (promote: boolean) => {
    await gql(StopExperiment, { id: e.id, promote });
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: ['experiment', e.id] }),
      queryClient.invalidateQueries({ queryKey: ['experiments'] }),
      queryClient.invalidateQueries({ queryKey: ['model', e.model.name] }),
    ]);
  };
  const tone = decisionTone(e.decision);
  return (
    <div className={`verdict card ${tone === 'ok' || tone === 'bad' ? tone : ''}`}>
      <h2>{DECISION_WORDS[e.decision] ?? e.decision}</h2>
      <p data-testid="decision-sentence">{sentence(e)}</p>
      {e.decisionReason && <p className="muted small">The gateway’s reason: {e.decisionReason}</p>}
      {e.promotedVersion != null && (
        <p role="status">
          <Chip tone="ok">v{e.promotedVersion} promoted to “champion”</Chip>
        </p>
      )}
      {e.status === 'RUNNING' && operator && (
        <div className="actions">
          <ConfirmButton
            label="Stop experiment"
            className="danger"
            question={`Stop “${e.name}” on ${e.model.name}? Feedback recorded so far is taken in first; unversioned requests then go back to the model’s default routing (“champion”). “champion” does not move.`}
            confirmLabel="Stop"
            onConfirm={() => stop(false)}
          />
          {mayPromote ? (
            <ConfirmButton
              label="Stop & promote"
              className="primary"
              disabled={!winner}
              question={
                winner
                  ? `Stop “${e.name}” and move “champion” of ${e.model.name} to ${armLabel(winner)} (v${winner.modelVersion.version}), found better than the control? Requests that use “champion” (and the model’s default routing) are served by v${winner.modelVersion.version} from then on.`
                  : 'No candidate is significantly better than the control.'
              }
              confirmLabel={winner ? `Stop and make v${winner.modelVersion.version} champion` : 'Stop and promote'}
              onConfirm={() => stop(true)}
            />
          ) : (
            <span className="muted small">Promoting needs an admin key (“champion” is pinned).</span>
          )}
          {mayPromote && !winner && (
            <span className="muted small">Stop &amp; promote opens once a candidate is significantly better.</span>
          )}
        </div>
      )}
    </div>
  );
}

const errorsText = (a: Arm): ReactNode => {
  const byCode = Object.entries((a.errorsByCode as Record<string, number> | null) ?? {});
  if (a.errors === 0) return '0';
  return (
    <>
      {fmtCount(a.errors)} ({pct(a.requests ? a.errors / a.requests : null)})
      {byCode.map(([code, n]) => (
        <div key={code} className="small">
          <code>{code}</code> {fmtCount(n)}
        </div>
      ))}
    </>
  );
};

function ArmsTable({ e }: { e: E }) {
  const shadow = e.mode === 'SHADOW';
  const level = `${Math.round((1 - e.alpha) * 100)}%`;
  const rows: [string, (a: Arm) => ReactNode][] = [
    [
      'Version',
      (a) => (
        <>
          <Link
            to="/models/$name/versions/$version"
            params={{ name: e.model.name, version: String(a.modelVersion.version) }}
          >
            v{a.modelVersion.version}
          </Link>{' '}
          {a.modelVersion.aliases.map((x) => (
            <Chip key={x}>{x}</Chip>
          ))}
        </>
      ),
    ],
    [
      shadow ? 'Traffic' : 'Share of requests',
      (a) =>
        shadow
          ? a.isControl
            ? 'answers every request'
            : `also runs on ${pct(armShare(e.mode, e.arms, a), 0)} of requests`
          : pct(armShare(e.mode, e.arms, a), 1),
    ],
    [
      'State',
      (a) =>
        a.active ? (
          e.status === 'RUNNING' ? (
            <Chip tone="ok">active</Chip>
          ) : (
            <span className="muted">served until the stop</span>
          )
        ) : (
          <>
            <Chip tone="bad">stopped by a guardrail</Chip>
            {a.stoppedReason && <div className="small">{a.stoppedReason}</div>}
          </>
        ),
    ],
    [shadow ? 'Requests (shadow runs)' : 'Requests', (a) => fmtCount(a.requests)],
    ['Errors', errorsText],
    ...(shadow
      ? ([['Shadow runs dropped', (a: Arm) => fmtCount(a.shadowDropped)]] as [string, (a: Arm) => ReactNode][])
      : []),
    ['Latency p50 / p99', (a) => `${fmtMs(a.latencyP50Ms)} / ${fmtMs(a.latencyP99Ms)}`],
    ['Judged answers (feedback)', (a) => fmtCount(a.feedbackCount)],
    ['Right', (a) => fmtCount(a.correct)],
    ['Accuracy', (a) => pct(a.accuracy)],
    ...(shadow
      ? ([
          ['Agreement with the control', (a: Arm) => (a.isControl ? '—' : pct(a.agreement))],
          [
            'Only the control right / only the candidate right',
            (a: Arm) => (a.test ? `${a.test.controlOnlyRight ?? '—'} / ${a.test.candidateOnlyRight ?? '—'}` : '—'),
          ],
        ] as [string, (a: Arm) => ReactNode][])
      : []),
    [
      shadow ? 'Accuracy − control, on the same images' : 'Accuracy − control',
      (a) => (a.test ? pts(a.test.estimate) : '—'),
    ],
    [
      `${level} confidence sequence`,
      (a) =>
        a.test?.confidenceSequence
          ? `${pts(a.test.confidenceSequence[0])} to ${pts(a.test.confidenceSequence[1])}`
          : a.test
            ? 'not bounded yet'
            : '—',
    ],
    ['Always-valid p', (a) => (a.test ? fmtP(a.test.pValue) : '—')],
    [
      'Test',
      (a) =>
        a.test ? (
          <>
            <Chip tone={decisionTone(a.test.decision)}>{DECISION_WORDS[a.test.decision] ?? a.test.decision}</Chip>
            <div className="muted small">
              {fmtCount(a.test.samples)} {shadow ? 'pairs' : 'observations'}
            </div>
          </>
        ) : (
          'the control'
        ),
    ],
  ];
  return (
    <div className="table-wrap">
      <table className="metrics arms" aria-label="Arms of the experiment">
        <thead>
          <tr>
            <th scope="col">Figure</th>
            {e.arms.map((a) => (
              <th scope="col" key={a.name}>
                {a.name}
                <div className="muted small">{a.isControl ? 'control' : 'candidate'}</div>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, f]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              {e.arms.map((a) => (
                <td key={a.name} data-arm={a.name}>
                  {f(a)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface Derived {
  pValues: ArmPoint[];
  bands: BandPoint[];
  accuracy: ArmPoint[];
}

/**
 * The series as the charts draw it. The observed difference at a candidate's point is its accuracy
 * minus the control's at the same pass of the test (SPLIT; in SHADOW the test compares pairs, so only
 * the current estimate is drawn).
 */
function derive(e: E): Derived {
  const control = e.arms.find((a) => a.isControl)!.name;
  const controlAt = new Map<string, number>();
  for (const p of e.series) if (p.arm === control && p.accuracy != null) controlAt.set(p.at, p.accuracy);
  let lastControl: number | null = null;
  const out: Derived = { pValues: [], bands: [], accuracy: [] };
  for (const p of e.series) {
    if (p.arm === control) {
      if (p.accuracy != null) lastControl = p.accuracy;
    } else {
      if (p.pValue != null) out.pValues.push({ arm: p.arm, feedback: p.feedback, value: p.pValue });
      if (p.csLow != null && p.csHigh != null) {
        const ctl = controlAt.get(p.at) ?? lastControl;
        out.bands.push({
          arm: p.arm,
          feedback: p.feedback,
          low: p.csLow,
          high: p.csHigh,
          estimate: e.mode === 'SPLIT' && p.accuracy != null && ctl != null ? p.accuracy - ctl : null,
        });
      }
    }
    if (p.accuracy != null && p.feedback > 0)
      out.accuracy.push({ arm: p.arm, feedback: p.feedback, value: p.accuracy });
  }
  return out;
}

function Charts({ e }: { e: E }) {
  const candidates = e.arms.filter((a) => !a.isControl);
  const control = e.arms.find((a) => a.isControl)!;
  const level = 1 - e.alpha;
  // Redrawn only when the figures change (the query keeps unchanged data identical between polls).
  const [makeP, makeCs, makeAcc, accuracyPoints] = useMemo(() => {
    const colors: ArmColors = armColors(e.arms);
    const d = derive(e);
    const now: ArmPoint[] = e.arms.flatMap((a) =>
      !a.isControl && a.test?.estimate != null
        ? [{ arm: a.name, feedback: a.feedbackCount, value: a.test.estimate }]
        : [],
    );
    return [
      pValueChart(d.pValues, e.alpha, colors),
      confidenceSequenceChart(d.bands, now, 1 - e.alpha, colors),
      cumulativeAccuracyChart(d.accuracy, colors),
      d.accuracy.length,
    ] as const;
  }, [e]);
  if (e.series.length === 0)
    return (
      <Empty>
        No judged answers yet: the charts appear once feedback (the true labels of routed predictions, recordFeedback)
        has been taken in.
      </Empty>
    );
  const pTitle = candidates
    .map((a) =>
      a.test
        ? `${armLabel(a)}: ${pIs(a.test.pValue)} after ${fmtCount(a.feedbackCount)} judged answers (${a.test.pValue <= e.alpha ? 'below' : 'above'} alpha ${e.alpha})`
        : `${armLabel(a)}: no test`,
    )
    .join('; ');
  const csTitle = candidates
    .map((a) => {
      const cs = a.test?.confidenceSequence;
      if (!cs) return `${armLabel(a)} − ${armLabel(control)}: not bounded yet`;
      const verdict = cs[0]! > 0 ? 'above 0' : cs[1]! < 0 ? 'below 0' : 'includes 0';
      return `${armLabel(a)} − ${armLabel(control)}: ${pts(a.test?.estimate)}, ${Math.round(level * 100)}% sequence ${pts(cs[0])} to ${pts(cs[1])} (${verdict})`;
    })
    .join('; ');
  const accTitle = `Accuracy so far: ${e.arms
    .map((a) => `${armLabel(a)} ${pct(a.accuracy)} of ${fmtCount(a.feedbackCount)}`)
    .join(', ')}`;
  return (
    <>
      <div className="grid two">
        <Figure name="experiment-p-value" title={`Always-valid p-value, never rising. ${pTitle}`} make={makeP} />
        <Figure
          name="experiment-confidence-sequence"
          title={`Accuracy difference with its confidence sequence, only narrowing. ${csTitle}`}
          make={makeCs}
        />
      </div>
      {accuracyPoints > 0 && <Figure name="experiment-accuracy" title={accTitle} make={makeAcc} />}
    </>
  );
}
