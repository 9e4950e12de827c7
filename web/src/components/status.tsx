/** Status as text with a symbol, so it reads without colour. */
const SYMBOLS: Record<string, string> = {
  RUNNING: "▶",
  QUEUED: "…",
  COMPLETED: "✓",
  SUCCEEDED: "✓",
  FAILED: "✕",
  CANCELLED: "⊘",
  BUSY: "▶",
  IDLE: "○",
  LOST: "?",
  STOPPED: "■",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status.toLowerCase()}`} data-status={status}>
      <span aria-hidden="true">{SYMBOLS[status] ?? "·"}</span> {status.toLowerCase()}
    </span>
  );
}

export const ACTIVE_STATUSES = new Set(["RUNNING", "QUEUED"]);
