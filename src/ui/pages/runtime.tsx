import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmButton, Empty, ErrorBox, Loading, Page, Progress, Section, StatusChip } from '../components';
import { graphql } from '../gql';
import { gql } from '../lib/api';
import { fmtDate } from '../lib/format';
import { useCan } from '../lib/session';
import { useAction } from '../lib/action';

const RuntimeQuery = graphql(`
  query UiRuntime {
    runtime {
      memoryBudgetMB
      executionProviders
      pinnedAliases
    }
    loadedVersions(first: 100) {
      state
      executionProvider
      memoryMB
      pinned
      requests
      lastUsed
      loadedAt
      loadMs
      reason
      maxBatchSize
      modelVersion {
        id
        version
        model {
          name
        }
      }
    }
    models(first: 100) {
      name
      versions(first: 100) {
        version
        status
      }
    }
  }
`);

const Load = graphql(`
  mutation UiLoadVersion($ref: VersionRefInput!) {
    loadVersion(ref: $ref) {
      state
    }
  }
`);

const Unload = graphql(`
  mutation UiUnloadVersion($ref: VersionRefInput!) {
    unloadVersion(ref: $ref)
  }
`);

export function RuntimePage() {
  const queryClient = useQueryClient();
  const admin = useCan('admin');
  const q = useQuery({ queryKey: ['runtime'], queryFn: () => gql(RuntimeQuery), refetchInterval: 10_000 });
  const [choice, setChoice] = useState('');
  const { busy, error, act } = useAction();
  if (q.isPending) return <Loading what="Loading the runtime" />;
  if (q.error) return <ErrorBox error={q.error} />;
  const { runtime, loadedVersions, models } = q.data;
  const used = loadedVersions.reduce((s, l) => s + l.memoryMB, 0);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['runtime'] });
  const loadable = models.flatMap((m) =>
    m.versions
      .filter((v) => v.status === 'READY')
      .map((v) => ({ key: `${m.name}@${v.version}`, model: m.name, version: v.version })),
  );
  const chosen = loadable.find((l) => l.key === choice) ?? loadable[0];

  return (
    <Page title="Runtime">
      <Section title="Memory">
        <Progress value={used / runtime.memoryBudgetMB} label="Memory used of the budget" />
        <p className="muted small">
          {used.toFixed(1)} MB of {runtime.memoryBudgetMB.toFixed(0)} MB used by loaded versions (estimated). Providers
          in order: {runtime.executionProviders.join(', ')}. Pinned aliases (never unloaded):{' '}
          {runtime.pinnedAliases.join(', ')}.
        </p>
      </Section>
      <Section title="Loaded versions">
        {loadedVersions.length === 0 ? (
          <Empty>No version is loaded: versions load on their first prediction.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">State</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Loaded</th>
                  {admin && <th scope="col">Action</th>}
                </tr>
              </thead>
              <tbody>
                {loadedVersions.map((l) => {
                  const ref = { model: l.modelVersion.model.name, version: l.modelVersion.version };
                  return (
                    <tr key={l.modelVersion.id}>
                      <th scope="row">
                        {ref.model} v{ref.version}
                        {l.pinned && <span className="muted small"> · pinned</span>}
                      </th>
                      <td>
                        <StatusChip status={l.state} />
                        {l.reason && <div className="muted small">{l.reason}</div>}
                      </td>
                      <td>{l.executionProvider ?? '—'}</td>
                      <td>{l.memoryMB} MB</td>
                      <td>{l.requests}</td>
                      <td>{fmtDate(l.lastUsed)}</td>
                      <td>
                        {fmtDate(l.loadedAt)}
                        {l.loadMs != null && <span className="muted small"> in {Math.round(l.loadMs)} ms</span>}
                      </td>
                      {admin && (
                        <td>
                          <ConfirmButton
                            label={`Unload ${ref.model} v${ref.version}`}
                            question={`Unload ${ref.model} v${ref.version}? Its next prediction loads it again (${l.loadMs != null ? `about ${Math.round(l.loadMs)} ms` : 'a moment'}).`}
                            confirmLabel="Unload"
                            onConfirm={async () => {
                              await gql(Unload, { ref });
                              await refresh();
                            }}
                          />
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {admin && chosen && (
        <Section title="Load a version">
          <form
            className="inline-form"
            onSubmit={async (e) => {
              e.preventDefault();
              await act(async () => {
                await gql(Load, { ref: { model: chosen.model, version: chosen.version } });
                await refresh();
              });
            }}
          >
            <label>
              Version
              <select value={chosen.key} onChange={(e) => setChoice(e.target.value)}>
                {loadable.map((l) => (
                  <option key={l.key} value={l.key}>
                    {l.model} v{l.version}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Loading…' : 'Load'}
            </button>
            {error != null && <ErrorBox error={error} />}
          </form>
        </Section>
      )}
    </Page>
  );
}
