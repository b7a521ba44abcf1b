// The live log of an install / upgrade / uninstall operation (fed by `operation` events).
import { useOperation } from "../api/queries";

export function OperationLog({ id, onClose }: { id: string; onClose: () => void }) {
  const op = useOperation(id);
  if (op.isPending) return <p role="status">Starting the operation…</p>;
  if (op.isError) return <p role="alert">Could not read the operation: {String(op.error)}</p>;
  const o = op.data;
  const done = o.status === "succeeded" || o.status === "failed";
  return (
    <div className={`operation op-${o.status}`} aria-label={`${o.kind} of ${o.short}`} role="group">
      <p>
        <strong>
          {o.kind} {o.short}: {o.status}
        </strong>
        {o.error ? ` — ${o.error}` : ""}
      </p>
      <pre className="log-lines short" aria-live="polite">
        {o.log.join("\n") || "Waiting for output…"}
      </pre>
      {done && (
        <button type="button" className="secondary" onClick={onClose}>
          Dismiss
        </button>
      )}
    </div>
  );
}
