/**
 * `swamp gc`: what a tracking server's artifact store holds (in total and per experiment), and the
 * removal of objects no recorded artifact names (outputs of results never recorded, bytes a crash
 * left behind). Deleting an experiment already frees its own objects; this finds the rest.
 */
import { parseCommandLine } from "../command-line.js";

const USAGE = `usage: swamp gc [--server URL] [--token T] [--dry-run] [--min-age SECONDS]
  --server    the tracking server (default http://127.0.0.1:4000)
  --token     bearer token with admin scope (default: SWAMP_TOKEN)
  --dry-run   count unreferenced objects, remove nothing
  --min-age   spare objects younger than this (default 3600): workers store outputs before they are recorded`;

const DEFAULT_SERVER = "http://127.0.0.1:4000";
const EXPERIMENTS_PER_PAGE = 100;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    "gc",
    USAGE,
    argv,
    { server: { type: "string" }, token: { type: "string" }, "dry-run": { type: "boolean", default: false }, "min-age": { type: "string" }, help: { type: "boolean", default: false } },
    false,
  );
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const minAge = values["min-age"] === undefined ? 3600 : Number(values["min-age"]);
  if (!Number.isInteger(minAge) || minAge < 0) {
    process.stderr.write(`swamp gc: --min-age must be a whole number of seconds, got "${values["min-age"]}"\n${USAGE}\n`);
    return 2;
  }
  const token = values.token ?? process.env.SWAMP_TOKEN ?? "";
  if (token.length === 0) {
    process.stderr.write(`swamp gc: a token with admin scope is needed (--token or SWAMP_TOKEN)\n`);
    return 2;
  }
  const endpoint = `${(values.server ?? DEFAULT_SERVER).replace(/\/+$/, "").replace(/\/graphql$/, "")}/graphql`;
  const query = async <T>(document: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: document, variables }) });
    const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
    if (!body.data) throw new Error(`${endpoint} answered ${response.status} without data`);
    return body.data;
  };
  try {
    const experiments: Array<{ id: string; name: string; storedBytes: number }> = [];
    for (let after: string | null = null; ; ) {
      const page: { experiments: { nodes: Array<{ id: string; name: string; storedBytes: number }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await query(
        `query($first: Int!, $after: String) { experiments(first: $first, after: $after) { nodes { id name storedBytes } pageInfo { hasNextPage endCursor } } }`,
        { first: EXPERIMENTS_PER_PAGE, after },
      );
      experiments.push(...page.experiments.nodes);
      if (!page.experiments.pageInfo.hasNextPage) break;
      after = page.experiments.pageInfo.endCursor;
    }
    const { collectGarbage: gc } = await query<{ collectGarbage: { unreferencedObjects: number; unreferencedBytes: number; removed: boolean; storage: { storedBytes: number; objects: number } } }>(
      `mutation($minAgeSeconds: Int!, $dryRun: Boolean!) { collectGarbage(minAgeSeconds: $minAgeSeconds, dryRun: $dryRun) { unreferencedObjects unreferencedBytes removed storage { storedBytes objects } } }`,
      { minAgeSeconds: minAge, dryRun: values["dry-run"] },
    );
    for (const experiment of experiments.filter((e) => e.storedBytes > 0).sort((a, b) => b.storedBytes - a.storedBytes)) {
      process.stdout.write(`${megabytes(experiment.storedBytes).padStart(10)}  ${experiment.id}  ${experiment.name}\n`);
    }
    process.stdout.write(`stored: ${megabytes(gc.storage.storedBytes)} in ${gc.storage.objects} object(s), shared objects counted once\n`);
    process.stdout.write(`unreferenced: ${gc.unreferencedObjects} object(s), ${megabytes(gc.unreferencedBytes)}${gc.removed ? " removed" : " (dry run: kept)"}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`swamp gc: ${(error as Error).message}\n`);
    return 1;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}
