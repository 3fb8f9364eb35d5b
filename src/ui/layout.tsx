import { useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { ErrorBox, Loading, Page } from './components';
import { signOut } from './lib/api';
import { useCan, useSession } from './lib/session';

export function Layout() {
  const session = useSession();
  const location = useRouterState({ select: (s) => s.location });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const onLogin = location.pathname === '/login';
  const operator = useCan('operator');
  const admin = useCan('admin');

  useEffect(() => {
    if (session.data === null && !onLogin)
      void navigate({ to: '/login', search: { next: location.href }, replace: true });
  }, [session.data, onLogin, location.href, navigate]);

  if (onLogin) return <Outlet />;
  if (session.isPending) return <Loading what="Checking your session" />;
  if (session.error) return <ErrorBox error={session.error} />;
  if (!session.data) return null;

  const leave = async () => {
    await signOut();
    queryClient.clear();
    queryClient.setQueryData(['session'], null);
    await navigate({ to: '/login', search: { next: undefined } });
  };
  const links: [string, string][] = [
    ['/models', 'Models'],
    ['/predict', 'Predict'],
    ['/comparisons', 'Comparisons'],
    ['/experiments', 'Experiments'],
    ['/datasets', 'Datasets'],
    ['/runtime', 'Runtime'],
    ...(operator ? ([['/imports', 'Imports']] as [string, string][]) : []),
    ...(admin ? ([['/keys', 'Keys']] as [string, string][]) : []),
  ];
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          modelgate
        </Link>
        <nav aria-label="Main">
          {links.map(([to, label]) => (
            <Link key={to} to={to} activeProps={{ 'aria-current': 'page', className: 'active' }}>
              {label}
            </Link>
          ))}
          <a href="/graphiql">GraphiQL</a>
        </nav>
        <div className="who">
          <span>
            {session.data.keyName} <span className="muted">({session.data.role})</span>
          </span>
          <button type="button" onClick={leave}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}

export function NotFound() {
  return (
    <Page title="Not found">
      <p>
        There is no page here. <Link to="/models">Go to the models</Link>.
      </p>
    </Page>
  );
}
