import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isUnauthenticated } from './lib/api';
import { router } from './routes';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // A refusal does not get better by asking again; a dropped connection might.
      retry: (count, e) => count < 2 && (e as { code?: string }).code === 'NETWORK',
      refetchOnWindowFocus: false,
    },
  },
  queryCache: new QueryCache({
    // A session that ended mid-visit sends the user back to sign in, then here again.
    onError: (e) => {
      if (isUnauthenticated(e) && router.state.location.pathname !== '/login') {
        queryClient.setQueryData(['session'], null);
        void router.navigate({ to: '/login', search: { next: router.state.location.href } });
      }
    },
  }),
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
