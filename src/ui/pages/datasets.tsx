import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useMemo } from 'react';
import { Figure, groupedBars } from '../charts';
import { Empty, ErrorBox, Loading, Page } from '../components';
import { graphql } from '../gql';
import type { UiDatasetsQuery } from '../gql/graphql';
import { gql } from '../lib/api';
import { fmtDate } from '../lib/format';
import { datasetsRoute } from '../routes';

const DatasetsQuery = graphql(`
  query UiDatasets {
    datasets(first: 100) {
      name
      version
      size
      digest
      labels
      storageUri
      createdAt
      classCounts
    }
  }
`);

type Dataset = UiDatasetsQuery['datasets'][number];
const SAMPLES = 12;

export function DatasetsPage() {
  const { name } = datasetsRoute.useSearch();
  const q = useQuery({ queryKey: ['datasets'], queryFn: () => gql(DatasetsQuery) });
  if (q.isPending) return <Loading what="Loading datasets" />;
  if (q.error) return <ErrorBox error={q.error} />;
  const shown = q.data.datasets.filter((d) => !name || d.name === name);
  return (
    <Page title="Datasets">
      {name && (
        <p>
          Only {name}.{' '}
          <Link to="/datasets" search={{ name: undefined }}>
            Show all datasets
          </Link>
        </p>
      )}
      {shown.length === 0 && <Empty>No datasets are registered yet.</Empty>}
      {shown.map((d) => (
        <DatasetCard key={`${d.name}@${d.version}`} d={d} />
      ))}
    </Page>
  );
}

function DatasetCard({ d }: { d: Dataset }) {
  return (
    <section className="card" aria-label={`${d.name} version ${d.version}`}>
      <h2>
        <Link to="/datasets" search={{ name: d.name }}>
          {d.name}
        </Link>{' '}
        <span className="muted">v{d.version}</span>
      </h2>
      <p className="muted small">
        {d.size} items · {d.labels.length} classes · digest <span className="mono">{d.digest.slice(0, 12)}</span> ·
        stored at <span className="mono">{d.storageUri}</span> · {fmtDate(d.createdAt)}
      </p>
      <Balance d={d} />
      <ul className="gallery samples" aria-label={`Sample images of ${d.name}`}>
        {Array.from({ length: Math.min(SAMPLES, d.size) }, (_, i) => (
          <li key={i}>
            <img
              src={`/datasets/${encodeURIComponent(d.name)}/items/${i}/image?version=${d.version}&size=64`}
              alt={`${d.name} item ${i}`}
              width={64}
              height={64}
              className="pixelated"
            />
          </li>
        ))}
      </ul>
    </section>
  );
}

function Balance({ d }: { d: Dataset }) {
  const counts = d.classCounts;
  const make = useMemo(
    () =>
      counts
        ? groupedBars(
            d.labels.map((label, i) => ({ label, group: 'items', value: counts[i] ?? 0 })),
            'Items',
          )
        : null,
    [d.labels, counts],
  );
  if (!counts || !make) return null;
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  return (
    <Figure
      name="class-balance"
      title={min === max ? `Balanced: ${min} items per class` : `Class balance: ${min} to ${max} items per class`}
      make={make}
    />
  );
}
