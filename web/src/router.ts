import { signal } from "@preact/signals";

/**
 * Hash routing: `#/experiments?status=RUNNING`, `#/experiments/<id>`, `#/frontier?ids=a,b`,
 * `#/workers`. Every view and selection has a URL; the browser's history is the back button's.
 */
export type ViewName = "experiments" | "experiment" | "frontier" | "workers";

export interface Route {
  view: ViewName;
  id: string | null;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === "experiments" && parts[1]) return { view: "experiment", id: parts[1], params };
  if (parts[0] === "frontier") return { view: "frontier", id: null, params };
  if (parts[0] === "workers") return { view: "workers", id: null, params };
  return { view: "experiments", id: null, params };
}

export const route = signal<Route>(parseRoute(location.hash));
window.addEventListener("hashchange", () => {
  route.value = parseRoute(location.hash);
});

/** `#/path?query`, leaving out empty parameters. */
export function href(path: string, params: Record<string, string | string[] | null | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    const text = Array.isArray(value) ? value.join(",") : value;
    if (text) query.set(key, text);
  }
  const search = query.toString();
  return `#/${path}${search ? `?${search}` : ""}`;
}

/** Goes to `target` (a hash); `replace` keeps it out of the history (typing in a filter). */
export function navigate(target: string, options: { replace?: boolean } = {}): void {
  if (target === location.hash) return;
  if (options.replace) {
    history.replaceState(null, "", target);
    route.value = parseRoute(target);
  } else location.hash = target;
}

export function listParam(params: URLSearchParams, name: string): string[] {
  return (params.get(name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}
