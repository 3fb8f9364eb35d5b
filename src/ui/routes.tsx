import { createRootRoute, createRoute, createRouter, lazyRouteComponent, redirect } from '@tanstack/react-router';
import { Layout, NotFound } from './layout';

// Every page's state lives in its URL: these parse (and default) the query string of each page.
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

const rootRoute = createRootRoute({ component: Layout, notFoundComponent: NotFound });

export const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: (s: Record<string, unknown>): { next?: string } => ({ next: str(s.next) }),
  component: lazyRouteComponent(() => import('./pages/login'), 'LoginPage'),
});

const modelsSearch = (s: Record<string, unknown>): { q?: string; alias?: string; tag?: string } => ({
  q: str(s.q),
  alias: str(s.alias),
  tag: str(s.tag),
});
const ModelsPage = lazyRouteComponent(() => import('./pages/models'), 'ModelsPage');
export const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/models', replace: true });
  },
});
export const modelsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/models',
  validateSearch: modelsSearch,
  component: ModelsPage,
});

export const modelRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/models/$name',
  validateSearch: (s: Record<string, unknown>): { metric?: string } => ({ metric: str(s.metric) }),
  component: lazyRouteComponent(() => import('./pages/model'), 'ModelPage'),
});

export const versionRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/models/$name/versions/$version',
  component: lazyRouteComponent(() => import('./pages/version'), 'VersionPage'),
});

export const predictRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/predict',
  validateSearch: (s: Record<string, unknown>): { model?: string; a?: string; b?: string; topK?: number } => ({
    model: str(s.model),
    a: str(s.a),
    b: str(s.b),
    topK: num(s.topK),
  }),
  component: lazyRouteComponent(() => import('./pages/predict'), 'PredictPage'),
});

export const comparisonsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/comparisons',
  validateSearch: (
    s: Record<string, unknown>,
  ): { model?: string; candidate?: number; baseline?: string; dataset?: string } => ({
    model: str(s.model),
    candidate: num(s.candidate),
    baseline: str(s.baseline),
    dataset: str(s.dataset),
  }),
  component: lazyRouteComponent(() => import('./pages/comparisons'), 'ComparisonsPage'),
});

export const comparisonRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/comparisons/$id',
  component: lazyRouteComponent(() => import('./pages/comparison'), 'ComparisonPage'),
});

export const experimentsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/experiments',
  validateSearch: (s: Record<string, unknown>): { model?: string; candidate?: number } => ({
    model: str(s.model),
    candidate: num(s.candidate),
  }),
  component: lazyRouteComponent(() => import('./pages/experiments'), 'ExperimentsPage'),
});

export const experimentRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/experiments/$id',
  component: lazyRouteComponent(() => import('./pages/experiment'), 'ExperimentPage'),
});

export const runtimeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/runtime',
  component: lazyRouteComponent(() => import('./pages/runtime'), 'RuntimePage'),
});

export const importsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/imports',
  validateSearch: (
    s: Record<string, unknown>,
  ): {
    kind?: 'dvc' | 'mlflow';
    path?: string;
    rev?: string;
    modelPath?: string;
    model?: string;
    datasetPath?: string;
    dataset?: string;
    experiment?: string;
    registeredModel?: string;
  } => ({
    kind: s.kind === 'mlflow' ? 'mlflow' : undefined,
    path: str(s.path),
    rev: str(s.rev),
    modelPath: str(s.modelPath),
    model: str(s.model),
    datasetPath: str(s.datasetPath),
    dataset: str(s.dataset),
    experiment: str(s.experiment),
    registeredModel: str(s.registeredModel),
  }),
  component: lazyRouteComponent(() => import('./pages/imports'), 'ImportsPage'),
});

export const datasetsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/datasets',
  validateSearch: (s: Record<string, unknown>): { name?: string } => ({ name: str(s.name) }),
  component: lazyRouteComponent(() => import('./pages/datasets'), 'DatasetsPage'),
});

export const keysRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/keys',
  component: lazyRouteComponent(() => import('./pages/keys'), 'KeysPage'),
});

const routeTree = rootRoute.addChildren([
  loginRoute,
  indexRoute,
  modelsRoute,
  modelRoute,
  versionRoute,
  predictRoute,
  comparisonsRoute,
  comparisonRoute,
  experimentsRoute,
  experimentRoute,
  runtimeRoute,
  importsRoute,
  datasetsRoute,
  keysRoute,
]);

export const router = createRouter({ routeTree, defaultPreload: 'intent', scrollRestoration: true });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
