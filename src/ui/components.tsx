import { useEffect, useId, useRef, type ReactNode } from 'react';
import { describeError } from './lib/api';
import { useAction } from './lib/action';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p role="status" className="muted">
      {what}…
    </p>
  );
}

/** An error as a person reads it: the code in words, the gateway's message, the code itself. */
export function ErrorBox({ error }: { error: unknown }) {
  const { title, detail, code } = describeError(error);
  return (
    <div role="alert" className="error">
      <strong>{title}</strong> <span>{detail}</span> <code>{code}</code>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Page({ title, actions, children }: { title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${typeof title === 'string' ? title : 'modelgate'} · modelgate`;
  }, [title]);
  return (
    <>
      <div className="page-head">
        <h1>{title}</h1>
        {actions && <div className="actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const hid = useId();
  return (
    <section aria-labelledby={hid} id={id}>
      <h2 id={hid}>{title}</h2>
      {children}
    </section>
  );
}

export function Progress({ value, label }: { value: number; label: string }) {
  const p = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuenow={p}
      aria-valuemin={0}
      aria-valuemax={100}
    >
      <div style={{ width: `${p}%` }} />
      <span>{p}%</span>
    </div>
  );
}

/**
 * A button that asks first, in a modal dialog naming exactly what will change; the action's
 * error (e.g. FORBIDDEN) is shown in the dialog.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  className,
  disabled,
}: {
  label: string;
  question: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  className?: string;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const { busy, error, act, clearError } = useAction();
  const titleId = useId();
  const confirm = async () => {
    await act(async () => {
      await onConfirm();
      dialog.current?.close();
    });
  };
  return (
    <>
      <button type="button" className={className} disabled={disabled} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={clearError}>
        <h2 id={titleId}>{label}</h2>
        <p>{question}</p>
        {error != null && <ErrorBox error={error} />}
        <div className="actions">
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={busy} onClick={confirm}>
            {confirmLabel ?? label}
          </button>
        </div>
      </dialog>
    </>
  );
}

export function Chip({ children, tone }: { children: ReactNode; tone?: string }) {
  return <span className={`chip ${tone ?? ''}`}>{children}</span>;
}

export function StatusChip({ status }: { status: string }) {
  const tone =
    { READY: 'ok', SUCCEEDED: 'ok', FAILED: 'bad', CANCELLED: 'muted', ARCHIVED: 'muted', STOPPED: 'muted' }[status] ??
    'warn';
  return <Chip tone={tone}>{status.toLowerCase()}</Chip>;
}

export function DefinitionList({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}
