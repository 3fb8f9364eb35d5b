import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import './graphiql-overrides.css';
import { createRoot } from 'react-dom/client';
import { patchGraphiQLAccessibility } from './graphiql-a11y';
import { getSession } from './lib/api';

// GraphiQL, bundled (no CDN), for signed-in users: it sends the session cookie like the rest of the UI.
const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  // Subscriptions (comparisonProgress) over graphql-ws; the browser sends the session cookie with the upgrade.
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  headers: { 'apollo-require-preflight': 'true' },
  fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
});

const session = await getSession().catch(() => null);
if (!session) window.location.replace(`/login?next=${encodeURIComponent('/graphiql')}`);
else {
  createRoot(document.getElementById('graphiql')!).render(<GraphiQL fetcher={fetcher} />);
  patchGraphiQLAccessibility();
}
