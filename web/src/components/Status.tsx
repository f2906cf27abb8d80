export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export function Failure({ error }: { error: Error }) {
  return (
    <p role="alert" class="error">
      Could not load: {error.message}
    </p>
  );
}
