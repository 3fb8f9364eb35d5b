import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorBox } from '../components';
import { signIn } from '../lib/api';
import { loginRoute } from '../routes';
import { useAction } from '../lib/action';

export function LoginPage() {
  const { next } = loginRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [key, setKey] = useState('');
  const { busy, error, act } = useAction();
  useEffect(() => {
    document.title = 'Sign in · modelgate';
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      const session = await signIn(key.trim());
      // The key is exchanged once; only the HttpOnly session cookie remains.
      setKey('');
      queryClient.setQueryData(['session'], session);
      const target = next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
      await navigate({ href: target });
    });
  };

  return (
    <main id="main" className="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">modelgate</h1>
        <p className="muted">Sign in with an API key. The gateway prints an admin key on its first start.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="mg_…"
        />
        {error != null && <ErrorBox error={error} />}
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}
