/** Display formats shared by the views. */

export function percent(fraction: number | null | undefined, digits = 1): string {
  return fraction === null || fraction === undefined || Number.isNaN(fraction) ? "–" : `${(fraction * 100).toFixed(digits)}%`;
}

/** Remaining weights as pruning papers print them: 100%, 51.2%, 1.15%. */
export function remaining(sparsity: number): string {
  const left = (1 - sparsity) * 100;
  return `${left >= 10 ? left.toFixed(1) : left >= 1 ? left.toFixed(2) : left.toPrecision(2)}%`;
}

export function signedPoints(difference: number | null): string {
  if (difference === null || Number.isNaN(difference)) return "–";
  const points = difference * 100;
  return `${points >= 0 ? "+" : "−"}${Math.abs(points).toFixed(2)} pt`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 10)} ${date.toTimeString().slice(0, 5)}`;
}

/** "Dec 4, 18:55" in the browser's time zone, for table cells. */
export function shortDateTime(iso: string): string {
  const date = new Date(iso);
  return `${date.toLocaleString("en", { month: "short" })} ${date.getDate()}, ${date.toTimeString().slice(0, 5)}`;
}

export function age(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function duration(milliseconds: number | null | undefined): string {
  if (milliseconds === null || milliseconds === undefined) return "–";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  return `${Math.floor(milliseconds / 60_000)} min ${Math.round((milliseconds % 60_000) / 1000)} s`;
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}
