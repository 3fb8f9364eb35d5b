import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { Chip, Empty, ErrorBox, Loading, Page, Progress, Section, StatusChip } from '../components';
import { graphql } from '../gql';
import { gql } from '../lib/api';
import { fmtDate, parseRef, pts, VERDICT_WORDS } from '../lib/format';
import { StartComparison, ModelChoicesQuery } from '../lib/operations';
import { useProgress } from '../lib/progress';
import { useCan } from '../lib/session';
import { comparisonsRoute } from '../routes';
import { useAction } from '../lib/action';

const ComparisonsQuery = graphql(`
  query UiComparisons($model: String) {
    comparisons(first: 50, model: $model) {
      id
      status
      progress
      itemsDone
      total
      verdict
      accuracyDelta
      createdAt
      candidate {
        version
        model {
          name
        }
      }
      baseline {
        version
      }
      dataset {
        name
        version
      }
    }
  }
`);

export function ComparisonsPage() {
  const search = comparisonsRoute.useSearch();
  const navigate = useNavigate();
  const operator = useCan('operator');
  const list = useQuery({
    queryKey: ['comparisons', search.model ?? null],
    queryFn: () => gql(ComparisonsQuery, { model: search.model ?? null }),
    // Live bars come from each running row's event stream; this catches new and finished ones.
    refetchInterval: (q) =>
      q.state.data?.comparisons.some((c) => c.status === 'QUEUED' || c.status === 'RUNNING') ? 5000 : false,
  });
  return (
    <Page title="Comparisons">
      {operator && <StartForm />}
      <Section title="Recent comparisons">
        <label>
          Model{' '}
          <input
            type="search"
            defaultValue={search.model ?? ''}
            placeholder="all models"
            onChange={(e) =>
              void navigate({
                to: '/comparisons',
                search: { ...search, model: e.target.value || undefined },
                replace: true,
              })
            }
          />
        </label>
        {list.isPending && <Loading what="Loading comparisons" />}
        {list.error && <ErrorBox error={list.error} />}
        {list.data?.comparisons.length === 0 && <Empty>No comparison yet.</Empty>}
        {!!list.data?.comparisons.length && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Candidate vs baseline</th>
                  <th scope="col">Dataset</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {list.data.comparisons.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">
                      <Link to="/comparisons/$id" params={{ id: c.id }}>
                        #{c.id}
                      </Link>
                    </th>
                    <td>
                      {c.candidate.model.name} v{c.candidate.version} vs v{c.baseline.version}
                    </td>
                    <td>
                      {c.dataset.name}@{c.dataset.version}
                    </td>
                    <td className="progress-cell">
                      <RowProgress c={c} />
                    </td>
                    <td>
                      {c.verdict ? (
                        <Chip
                          tone={
                            c.verdict === 'CANDIDATE_BETTER' ? 'ok' : c.verdict === 'BASELINE_BETTER' ? 'bad' : 'muted'
                          }
                        >
                          {VERDICT_WORDS[c.verdict]} ({pts(c.accuracyDelta)})
                        </Chip>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{fmtDate(c.createdAt)}</td>
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

function RowProgress({ c }: { c: { id: string; status: string; progress: number; itemsDone: number; total: number } }) {
  const queryClient = useQueryClient();
  const running = c.status === 'QUEUED' || c.status === 'RUNNING';
  const live = useProgress(c.id, running, () => void queryClient.invalidateQueries({ queryKey: ['comparisons'] }));
  const p = live ?? c;
  if (!running && !live) return <StatusChip status={c.status} />;
  return (
    <>
      <Progress value={p.progress} label={`Comparison ${c.id} progress`} />
      <span className="muted small">
        {p.itemsDone} / {p.total} · {p.status.toLowerCase()}
      </span>
    </>
  );
}

function StartForm() {
  const search = comparisonsRoute.useSearch();
  const navigate = useNavigate();
  const choices = useQuery({ queryKey: ['model-choices'], queryFn: () => gql(ModelChoicesQuery) });
  const [alpha, setAlpha] = useState('0.05');
  const [limit, setLimit] = useState('');
  const [margin, setMargin] = useState('');
  const { busy, error, act } = useAction();
  if (choices.isPending) return <Loading what="Loading models and datasets" />;
  if (choices.error) return <ErrorBox error={choices.error} />;
  const { models, datasets } = choices.data;
  const model = models.find((m) => m.name === search.model) ?? models[0];
  if (!model) return null;
  const ready = model.versions.filter((v) => v.status === 'READY').map((v) => v.version);
  const candidate = search.candidate ?? ready[ready.length - 1];
  const datasetNames = [...new Set(datasets.map((d) => d.name))];
  const dataset = search.dataset ?? datasetNames[0] ?? '';
  const set = (patch: Partial<typeof search>) =>
    void navigate({ to: '/comparisons', search: { ...search, ...patch }, replace: true });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const { startComparison } = await gql(StartComparison, {
        input: {
          candidate: { model: model.name, version: candidate },
          baseline: search.baseline ? parseRef(model.name, search.baseline) : null,
          dataset,
          alpha: Number(alpha),
          limit: limit ? Number(limit) : null,
          nonInferiorityMargin: margin ? Number(margin) / 100 : null,
        },
      });
      await navigate({ to: '/comparisons/$id', params: { id: startComparison.id } });
    });
  };

  return (
    <Section title="Start a comparison">
      <form className="inline-form card" onSubmit={submit}>
        <label>
          Model
          <select
            value={model.name}
            onChange={(e) => set({ model: e.target.value, candidate: undefined, baseline: undefined })}
          >
            {models.map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          Candidate
          <select value={candidate ?? ''} onChange={(e) => set({ candidate: Number(e.target.value) })}>
            {ready.map((v) => (
              <option key={v} value={v}>
                v{v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Baseline
          <select value={search.baseline ?? ''} onChange={(e) => set({ baseline: e.target.value || undefined })}>
            <option value="">the “baseline” alias</option>
            {model.aliases.map((a) => (
              <option key={a.name} value={a.name}>
                {a.name} (v{a.version.version})
              </option>
            ))}
            {ready.map((v) => (
              <option key={v} value={String(v)}>
                v{v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Dataset
          <select value={dataset} onChange={(e) => set({ dataset: e.target.value })}>
            {datasetNames.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <label>
          Alpha
          <input
            type="number"
            step="any"
            min="0.0001"
            max="0.5"
            value={alpha}
            onChange={(e) => setAlpha(e.target.value)}
          />
        </label>
        <label>
          Limit (items)
          <input type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} placeholder="all" />
        </label>
        <label>
          Non-inferiority margin (points)
          <input
            type="number"
            step="any"
            min="0"
            max="50"
            value={margin}
            onChange={(e) => setMargin(e.target.value)}
            placeholder="none"
          />
        </label>
        <button type="submit" className="primary" disabled={busy || candidate === undefined || !dataset}>
          Start comparison
        </button>
        {error != null && <ErrorBox error={error} />}
      </form>
    </Section>
  );
}
