import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ConfirmButton, Empty, ErrorBox, Loading, Page, Section } from '../components';
import { graphql } from '../gql';
import type { ApiKeyRole } from '../gql/graphql';
import { useAction } from '../lib/action';
import { gql } from '../lib/api';
import { fmtDate } from '../lib/format';
import { useCan } from '../lib/session';

const KeysQuery = graphql(`
  query UiKeys {
    apiKeys(first: 100) {
      name
      role
      prefix
      createdAt
      lastUsedAt
      revokedAt
    }
  }
`);

const CreateKey = graphql(`
  mutation UiCreateKey($name: String!, $role: ApiKeyRole!) {
    createApiKey(name: $name, role: $role) {
      key
      apiKey {
        name
        role
      }
    }
  }
`);

const RevokeKey = graphql(`
  mutation UiRevokeKey($name: String!) {
    revokeApiKey(name: $name) {
      name
      revokedAt
    }
  }
`);

export function KeysPage() {
  const admin = useCan('admin');
  if (!admin)
    return (
      <Page title="API keys">
        <p>Only an admin key can manage keys.</p>
      </Page>
    );
  return <Keys />;
}

function Keys() {
  const queryClient = useQueryClient();
  const q = useQuery({ queryKey: ['keys'], queryFn: () => gql(KeysQuery) });
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKeyRole>('VIEWER');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const { error, act } = useAction();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['keys'] });

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCopied(false);
    await act(async () => {
      const { createApiKey } = await gql(CreateKey, { name: name.trim(), role });
      setCreated({ name: createApiKey.apiKey.name, key: createApiKey.key });
      setName('');
      await refresh();
    });
  };

  return (
    <Page title="API keys">
      <Section title="Create a key">
        <form className="inline-form" onSubmit={create}>
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="e.g. dashboard" />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value as ApiKeyRole)}>
              <option value="VIEWER">viewer: read and predict</option>
              <option value="OPERATOR">operator: also import, compare, move aliases</option>
              <option value="ADMIN">admin: everything</option>
            </select>
          </label>
          <button type="submit" className="primary" disabled={!name.trim()}>
            Create key
          </button>
        </form>
        {error != null && <ErrorBox error={error} />}
        {created && (
          <div className="card secret" role="status">
            <p>
              The key <strong>{created.name}</strong> is shown <strong>only now</strong>; the gateway stores only its
              hash.
            </p>
            <label>
              New key
              <input readOnly value={created.key} className="mono" onFocus={(e) => e.target.select()} />
            </label>
            <button
              type="button"
              onClick={async () => {
                await navigator.clipboard.writeText(created.key);
                setCopied(true);
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        )}
      </Section>
      <Section title="Keys">
        {q.isPending && <Loading what="Loading keys" />}
        {q.error && <ErrorBox error={q.error} />}
        {q.data?.apiKeys.length === 0 && <Empty>No keys.</Empty>}
        {!!q.data?.apiKeys.length && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {q.data.apiKeys.map((k) => (
                  <tr key={k.name}>
                    <th scope="row">{k.name}</th>
                    <td>{k.role.toLowerCase()}</td>
                    <td className="mono">{k.prefix}…</td>
                    <td>{fmtDate(k.createdAt)}</td>
                    <td>{fmtDate(k.lastUsedAt)}</td>
                    <td>
                      {k.revokedAt ? (
                        `revoked ${fmtDate(k.revokedAt)}`
                      ) : (
                        <ConfirmButton
                          label={`Revoke ${k.name}`}
                          className="danger"
                          question={`Revoke the ${k.role.toLowerCase()} key “${k.name}”? Every client and browser session using it is refused from now on, on every gateway.`}
                          confirmLabel="Revoke"
                          onConfirm={async () => {
                            await gql(RevokeKey, { name: k.name });
                            await refresh();
                          }}
                        />
                      )}
                    </td>
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
