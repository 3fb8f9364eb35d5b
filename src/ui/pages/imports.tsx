import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { Empty, ErrorBox, Page, Section } from '../components';
import { graphql } from '../gql';
import type { UiImportDvcMutation } from '../gql/graphql';
import { gql } from '../lib/api';
import { useCan } from '../lib/session';
import { importsRoute } from '../routes';
import { useAction } from '../lib/action';

graphql(`
  fragment UiImportReport on ImportReport {
    created
    updated
    unchanged
    failed
    items {
      action
      kind
      name
      version
      reason
    }
  }
`);

const ImportDvc = graphql(`
  mutation UiImportDvc($input: ImportDvcInput!) {
    importDvc(input: $input) {
      ...UiImportReport
    }
  }
`);

const ImportMlflow = graphql(`
  mutation UiImportMlflow($input: ImportMlflowInput!) {
    importMlflow(input: $input) {
      ...UiImportReport
    }
  }
`);

type Report = UiImportDvcMutation['importDvc'];

export function ImportsPage() {
  const operator = useCan('operator');
  const given = importsRoute.useSearch();
  const search = { ...given, kind: given.kind ?? ('dvc' as const) };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const set = (patch: Partial<typeof search>) =>
    void navigate({ to: '/imports', search: { ...given, ...patch }, replace: true });
  const [review, setReview] = useState<{ dryRun: boolean; report: Report; key: string } | null>(null);
  const { busy, error, act } = useAction();
  if (!operator)
    return (
      <Page title="Imports">
        <p>Importing needs an operator or admin key.</p>
      </Page>
    );
  const key = JSON.stringify(search);

  const run = async (dryRun: boolean) => {
    await act(async () => {
      const report =
        search.kind === 'dvc'
          ? (
              await gql(ImportDvc, {
                input: {
                  repoPath: search.path ?? '',
                  rev: search.rev ?? null,
                  modelPath: search.modelPath ?? null,
                  model: search.model ?? null,
                  datasetPath: search.datasetPath ?? null,
                  dataset: search.dataset ?? null,
                  dryRun,
                },
              })
            ).importDvc
          : (
              await gql(ImportMlflow, {
                input: {
                  trackingUri: search.path ?? '',
                  experiment: search.experiment ?? null,
                  registeredModel: search.registeredModel ?? null,
                  dryRun,
                },
              })
            ).importMlflow;
      setReview({ dryRun, report, key });
      if (!dryRun) await queryClient.invalidateQueries();
    });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(true);
  };
  const reviewed = review && review.key === key ? review : null;

  return (
    <Page title="Imports">
      <div role="tablist" aria-label="Source" className="tabs">
        {(['dvc', 'mlflow'] as const).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={search.kind === k}
            onClick={() => {
              setReview(null);
              set({
                kind: k,
                path: undefined,
                rev: undefined,
                modelPath: undefined,
                model: undefined,
                datasetPath: undefined,
                dataset: undefined,
                experiment: undefined,
                registeredModel: undefined,
              });
            }}
          >
            {k === 'dvc' ? 'DVC project' : 'MLflow tracking store'}
          </button>
        ))}
      </div>
      <form
        className="inline-form card"
        onSubmit={submit}
        role="tabpanel"
        aria-label={search.kind === 'dvc' ? 'DVC project' : 'MLflow tracking store'}
      >
        {search.kind === 'dvc' ? (
          <>
            <label>
              Repository path (on the gateway’s machine)
              <input
                value={search.path ?? ''}
                onChange={(e) => set({ path: e.target.value || undefined })}
                required
                placeholder="/data/projects/fashion"
              />
            </label>
            <label>
              Git revision
              <input
                value={search.rev ?? ''}
                onChange={(e) => set({ rev: e.target.value || undefined })}
                placeholder="working tree"
              />
            </label>
            <label>
              Unannotated ONNX output
              <input
                value={search.modelPath ?? ''}
                onChange={(e) => set({ modelPath: e.target.value || undefined })}
                placeholder="models/model.onnx"
              />
            </label>
            <label>
              …as a version of model
              <input
                value={search.model ?? ''}
                onChange={(e) => set({ model: e.target.value || undefined })}
                required={Boolean(search.modelPath)}
                placeholder="an existing model"
              />
            </label>
            <label>
              Unannotated image folder
              <input
                value={search.datasetPath ?? ''}
                onChange={(e) => set({ datasetPath: e.target.value || undefined })}
                placeholder="data/images"
              />
            </label>
          </>
        ) : (
          <>
            <label>
              Tracking URI
              <input
                value={search.path ?? ''}
                onChange={(e) => set({ path: e.target.value || undefined })}
                required
                placeholder="/data/mlruns or http://mlflow:5000"
              />
            </label>
            <label>
              Experiment
              <input
                value={search.experiment ?? ''}
                onChange={(e) => set({ experiment: e.target.value || undefined })}
                placeholder="all"
              />
            </label>
            <label>
              Registered model
              <input
                value={search.registeredModel ?? ''}
                onChange={(e) => set({ registeredModel: e.target.value || undefined })}
                placeholder="all"
              />
            </label>
          </>
        )}
        <button type="submit" disabled={busy || !search.path}>
          Dry run
        </button>
      </form>
      {error != null && <ErrorBox error={error} />}
      {reviewed && (
        <Section title={reviewed.dryRun ? 'What the import would do' : 'What the import did'}>
          <p>
            {reviewed.report.created} {reviewed.dryRun ? 'to create' : 'created'}, {reviewed.report.updated}{' '}
            {reviewed.dryRun ? 'to update' : 'updated'}, {reviewed.report.unchanged} unchanged, {reviewed.report.failed}{' '}
            {reviewed.dryRun ? 'would fail' : 'failed'},{' '}
            {reviewed.report.items.filter((i) => i.action === 'skipped').length} skipped.
          </p>
          {reviewed.dryRun && (
            <button type="button" className="primary" disabled={busy} onClick={() => void run(false)}>
              Apply the import
            </button>
          )}
          <ReportTable report={reviewed.report} onName={search.kind === 'dvc' ? (patch) => set(patch) : undefined} />
        </Section>
      )}
    </Page>
  );
}

/** A skipped output the report says could be imported by naming it: the field it would go into. */
function nameable(item: Report['items'][number]): { modelPath: string } | { datasetPath: string } | null {
  if (item.action !== 'skipped' || !item.reason) return null;
  if (item.reason.includes(`--model-path ${item.name} `)) return { modelPath: item.name };
  if (item.reason.includes(`--dataset-path ${item.name} `)) return { datasetPath: item.name };
  return null;
}

function ReportTable({
  report,
  onName,
}: {
  report: Report;
  onName?: (patch: { modelPath: string } | { datasetPath: string }) => void;
}) {
  if (report.items.length === 0) return <Empty>Nothing found to import.</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {report.items.map((i, n) => (
            <tr key={n} className={i.action === 'failed' ? 'row-bad' : undefined}>
              <td>{i.action}</td>
              <td>{i.kind}</td>
              <td className="mono">{i.name}</td>
              <td>{i.version ?? '—'}</td>
              <td className="small">
                {i.reason ?? ''}
                {onName && nameable(i) && (
                  <>
                    {' '}
                    <button type="button" onClick={() => onName(nameable(i)!)}>
                      {'modelPath' in nameable(i)! ? 'Use as the ONNX output' : 'Use as the image folder'}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
