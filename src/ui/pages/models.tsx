import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useMemo } from 'react';
import { Chip, Empty, ErrorBox, Loading, Page, StatusChip } from '../components';
import { graphql } from '../gql';
import { gql } from '../lib/api';
import { fmtDate } from '../lib/format';
import { modelsRoute } from '../routes';

const ModelsQuery = graphql(`
  query UiModels($search: String) {
    models(first: 100, search: $search) {
      name
      description
      task
      labels
      updatedAt
      aliases {
        name
        version {
          version
        }
      }
      versions(first: 100) {
        version
        status
        tags
        createdAt
      }
    }
  }
`);

/** "key" matches a version tag's key, "key=value" its value too. */
function hasTag(tags: unknown, filter: string): boolean {
  const [key, value] = filter.split('=', 2) as [string, string | undefined];
  if (!tags || typeof tags !== 'object') return false;
  const t = tags as Record<string, unknown>;
  return key! in t && (value === undefined || String(t[key!]) === value);
}

export function ModelsPage() {
  const search = modelsRoute.useSearch();
  const navigate = useNavigate();
  const set = (patch: Partial<typeof search>) =>
    void navigate({ to: '/models', search: { ...search, ...patch }, replace: true });
  const models = useQuery({
    queryKey: ['models', search.q ?? ''],
    queryFn: () => gql(ModelsQuery, { search: search.q ?? null }),
  });
  const aliasNames = useMemo(
    () => [...new Set((models.data?.models ?? []).flatMap((m) => m.aliases.map((a) => a.name)))].sort(),
    [models.data],
  );
  const shown = (models.data?.models ?? []).filter(
    (m) =>
      (!search.alias || m.aliases.some((a) => a.name === search.alias)) &&
      (!search.tag || m.versions.some((v) => hasTag(v.tags, search.tag!))),
  );

  return (
    <Page title="Models">
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search by name
          <input
            type="search"
            defaultValue={search.q ?? ''}
            onChange={(e) => set({ q: e.target.value || undefined })}
          />
        </label>
        <label>
          Alias
          <select value={search.alias ?? ''} onChange={(e) => set({ alias: e.target.value || undefined })}>
            <option value="">any</option>
            {aliasNames.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Version tag
          <input
            type="text"
            placeholder="key or key=value"
            defaultValue={search.tag ?? ''}
            onChange={(e) => set({ tag: e.target.value || undefined })}
          />
        </label>
      </form>
      {models.isPending && <Loading what="Loading models" />}
      {models.error && <ErrorBox error={models.error} />}
      {models.data && shown.length === 0 && (
        <Empty>
          {search.q || search.alias || search.tag ? 'No model matches these filters.' : 'No models are registered yet.'}
        </Empty>
      )}
      {shown.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Registered models</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Versions</th>
                <th scope="col">Aliases</th>
                <th scope="col">Latest version</th>
                <th scope="col">Classes</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => {
                const latest = m.versions[m.versions.length - 1];
                return (
                  <tr key={m.name}>
                    <th scope="row">
                      <Link to="/models/$name" params={{ name: m.name }} search={{ metric: undefined }}>
                        {m.name}
                      </Link>
                      {m.description && <div className="muted small">{m.description}</div>}
                    </th>
                    <td>{m.versions.length}</td>
                    <td>
                      {m.aliases.map((a) => (
                        <Chip key={a.name}>
                          {a.name} → v{a.version.version}
                        </Chip>
                      ))}
                    </td>
                    <td>
                      {latest ? (
                        <>
                          v{latest.version} <StatusChip status={latest.status} />
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{m.labels.length}</td>
                    <td>{fmtDate(m.updatedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
