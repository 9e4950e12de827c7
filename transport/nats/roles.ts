/**
 * NATS users by role. The server (tracking server + coordinator) owns the fleet's streams and
 * may do anything in its namespace; a worker may only do a worker's job: pull tasks, settle them,
 * read and write artifacts, publish results, exhaustion reports, metrics and heartbeats, and hear
 * cancellations. It cannot create, delete or purge streams or the artifact bucket, consume the
 * results or exhaustion streams, delete stored messages, or publish on the live feed.
 *
 * The permissions are derived from the fleet's names (`schema/subjects.ts`), so a namespaced
 * deployment (or a test) gets the same rules; `deploy/nats-server.conf` is the rendering for the
 * empty namespace, checked by a test. JetStream API subjects are those nats-server 2.9 and the
 * @nats-io/jetstream 3.4 client use.
 */
import { TASK_ROUTES, type FleetNames } from "../../schema/subjects.js";

export type NatsRole = "server" | "worker";

export interface SubjectPermissions {
  publish: string[];
  subscribe: string[];
}

/** The object store keeps a bucket's objects in the stream `OBJ_<bucket>`, on `$O.<bucket>.C.>` (chunks) and `$O.<bucket>.M.>` (metadata). */
function objectStoreStream(bucket: string): string {
  return `OBJ_${bucket}`;
}

export function rolePermissions(names: FleetNames, role: NatsRole): SubjectPermissions {
  const bucketStream = objectStoreStream(names.artifactsBucket);
  const taskConsumers = TASK_ROUTES.map((route) => names.routeConsumer(route));
  if (role === "server") {
    return {
      // Everything JetStream offers (its streams are the server's), the object store, and the
      // namespace's subjects: tasks, results, metrics, control and the live feed between replicas.
      publish: ["$JS.API.>", "$JS.ACK.>", "$JS.FC.>", `$O.${names.artifactsBucket}.>`, names.allSubjects, "_INBOX.>"],
      subscribe: ["_INBOX.>", names.allSubjects],
    };
  }
  return {
    publish: [
      // Connecting: the account check and the look-ups that find the fleet's streams and consumers.
      "$JS.API.INFO",
      ...[names.tasksStream, names.resultsStream, names.exhaustedStream, bucketStream].map((stream) => `$JS.API.STREAM.INFO.${stream}`),
      ...taskConsumers.map((consumer) => `$JS.API.CONSUMER.INFO.${names.tasksStream}.${consumer}`),
      `$JS.API.CONSUMER.INFO.${names.resultsStream}.${names.resultsConsumer}`,
      `$JS.API.CONSUMER.INFO.${names.exhaustedStream}.${names.exhaustedConsumer}`,
      // Pulling tasks (from the `any` route and each backend's) and settling them (ack, nak, term, in-progress).
      ...taskConsumers.flatMap((consumer) => [`$JS.API.CONSUMER.MSG.NEXT.${names.tasksStream}.${consumer}`, `$JS.ACK.${names.tasksStream}.${consumer}.>`]),
      // A worker that stops hands its task back by queuing it again.
      names.tasksSubjects,
      names.resultsSubjects,
      names.exhaustedSubjects,
      names.allMetricsSubject,
      names.heartbeatSubject,
      // Artifacts: write chunks and metadata, look objects up, read them through an ordered consumer.
      `$O.${names.artifactsBucket}.C.>`,
      `$O.${names.artifactsBucket}.M.>`,
      `$JS.API.STREAM.MSG.GET.${bucketStream}`,
      `$JS.API.CONSUMER.CREATE.${bucketStream}.>`,
      `$JS.API.CONSUMER.DELETE.${bucketStream}.>`,
      `$JS.API.CONSUMER.INFO.${bucketStream}.>`,
      `$JS.FC.${bucketStream}.>`,
    ],
    subscribe: ["_INBOX.>", names.cancelSubject],
  };
}

export interface NatsRoleUser {
  role: NatsRole;
  user: string;
  /** Written as is: a literal in quotes, or `$NAME` to have nats-server read the environment variable. */
  password: string;
}

/** The `authorization` block of a nats-server configuration with one user per role. */
export function renderNatsAuthorization(names: FleetNames, users: readonly NatsRoleUser[]): string {
  const list = (subjects: readonly string[], indent: string) => subjects.map((subject) => `${indent}${JSON.stringify(subject)}`).join(",\n");
  const blocks = users.map((entry) => {
    const permissions = rolePermissions(names, entry.role);
    return [
      `    {`,
      `      # ${entry.role === "server" ? "swamp server (tracking server and coordinator): owns the fleet's streams" : "swamp worker: a worker's job and nothing more"}`,
      `      user: ${JSON.stringify(entry.user)}`,
      `      password: ${entry.password}`,
      `      permissions: {`,
      `        publish: { allow: [\n${list(permissions.publish, "          ")}\n        ] }`,
      `        subscribe: { allow: [\n${list(permissions.subscribe, "          ")}\n        ] }`,
      `      }`,
      `    }`,
    ].join("\n");
  });
  return `authorization {\n  users: [\n${blocks.join(",\n")}\n  ]\n}\n`;
}

/** The users `deploy/nats-server.conf` defines; their passwords come from the environment of nats-server. */
export const DEPLOY_NATS_USERS: readonly NatsRoleUser[] = [
  { role: "server", user: "swamp-server", password: "$SWAMP_NATS_SERVER_PASSWORD" },
  { role: "worker", user: "swamp-worker", password: "$SWAMP_NATS_WORKER_PASSWORD" },
];

/** `deploy/nats-server.conf`: JetStream on file storage and one user per role, production names. */
export function renderDeployNatsConfig(names: FleetNames): string {
  return [
    "# nats-server configuration of a swamp fleet: JetStream, and one NATS user per role.",
    "# Generated by `npx tsc -p . && node dist/server/tools/print-nats-config.js` from",
    "# transport/nats/roles.ts (a test fails when it is stale); deploy/kubernetes.yaml holds a copy.",
    "# Set SWAMP_NATS_SERVER_PASSWORD and SWAMP_NATS_WORKER_PASSWORD in nats-server's environment;",
    "# the server connects as swamp-server, the workers as swamp-worker (NATS_USER/NATS_PASSWORD).",
    "port: 4222",
    "http_port: 8222",
    'jetstream { store_dir: "/data" }',
    renderNatsAuthorization(names, DEPLOY_NATS_USERS),
  ].join("\n");
}
