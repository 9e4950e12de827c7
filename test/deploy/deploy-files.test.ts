/**
 * Offline checks of deploy/: the compose file and the Kubernetes manifests are parsed (PyYAML, the
 * Debian python3-yaml the Python client's tests already rely on; there is no YAML parser among the
 * npm dependencies) and the fields that break a first deployment are checked against the code:
 * images and Dockerfiles, commands, environment variables the code reads, secrets and their keys,
 * probes on endpoints the server serves, ports that agree, required passwords. Nothing is built
 * or started (no Docker engine or cluster here).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { BACKEND_NAMES } from "../../schema/config-names.js";

const ROOT = resolve(__dirname, "../../..");
const DEPLOY = join(ROOT, "deploy");

type Doc = Record<string, any>;

function parseYaml(path: string): Doc[] {
  const result = spawnSync("python3", ["-c", "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", path], { encoding: "utf8" });
  assert.equal(result.status, 0, `parsing ${path} (needs python3-yaml): ${result.stderr}`);
  return (JSON.parse(result.stdout) as Array<Doc | null>).filter((doc): doc is Doc => doc !== null);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every environment variable the server, worker and CLI code reads (env.X, or a "SWAMP_…" name in a table). */
const KNOWN_VARIABLES = new Set(
  ["server", "transport", "cli", "worker", "schema"].flatMap((dir) =>
    sourceFiles(join(ROOT, dir)).flatMap((file) => [...readFileSync(file, "utf8").matchAll(/env\.([A-Z][A-Z0-9_]+)|"((?:SWAMP|NATS)_[A-Z0-9_]+)"/g)].map((m) => m[1] ?? m[2]!)),
  ),
);
/** The server entry and its startup steps (server/startup/), where the HTTP routes are mounted. */
const SERVER_SOURCE = ["server/start-server.ts", ...readdirSync(join(ROOT, "server/startup")).map((file) => `server/startup/${file}`)]
  .filter((file) => file.endsWith(".ts"))
  .map((file) => readFileSync(join(ROOT, file), "utf8"))
  .join("\n");
const SWAMP_IMAGES: Record<string, string> = { "swamp-server": "server.Dockerfile", "swamp-worker": "worker.Dockerfile", "swamp-worker-gpu": "worker-gpu.Dockerfile" };

function assertServedPath(path: string): void {
  assert.ok(SERVER_SOURCE.includes(`app.get("${path}"`), `the server serves ${path}`);
}

function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index < 0 ? undefined : args[index + 1];
}

/** The backend a `swamp worker` command line forces, checked against the names the worker knows. */
function backendFlag(args: string[], where: string): string {
  assert.equal(args[0], "worker", `${where}: runs \`swamp worker\``);
  const backend = flagValue(args, "--backend");
  assert.ok(backend !== undefined && (BACKEND_NAMES as readonly string[]).includes(backend), `${where}: --backend ${backend} is one of ${BACKEND_NAMES.join(", ")}`);
  return backend!;
}

function assertCommand(args: string[], where: string): void {
  assert.ok(existsSync(join(ROOT, "cli/commands", `${args[0]}.ts`)), `${where}: \`swamp ${args[0]}\` is a command`);
}

test("compose: images build from existing Dockerfiles, passwords are required, variables are read by the code, probes and mounts exist", () => {
  const text = readFileSync(join(DEPLOY, "docker-compose.yml"), "utf8");
  const [compose] = parseYaml(join(DEPLOY, "docker-compose.yml"));
  const services = compose!.services as Record<string, Doc>;
  assert.doesNotMatch(text, /PASSWORD:-/, "no silent default password");
  for (const variable of ["POSTGRES_PASSWORD", "SWAMP_NATS_SERVER_PASSWORD", "SWAMP_NATS_WORKER_PASSWORD"]) {
    assert.match(text, new RegExp(`\\$\\{${variable}:\\?`), `${variable} is required`);
  }
  for (const [name, service] of Object.entries(services)) {
    if (service.image in SWAMP_IMAGES) {
      assert.equal(service.build.dockerfile, `deploy/${SWAMP_IMAGES[service.image]}`, `${name} builds its image`);
      assert.ok(existsSync(join(ROOT, service.build.dockerfile)), `${service.build.dockerfile} exists`);
      for (const variable of Object.keys(service.environment ?? {})) assert.ok(KNOWN_VARIABLES.has(variable), `${name}: ${variable} is read by swamp`);
    }
    for (const volume of (service.volumes ?? []) as string[]) {
      const source = volume.split(":")[0]!;
      if (source.startsWith("./")) assert.ok(existsSync(join(DEPLOY, source)), `${name} mounts ${source}, which exists`);
      else if (!source.startsWith("$")) assert.ok(source in compose!.volumes, `${name}: volume ${source} is declared`);
    }
    for (const dependency of Object.keys(Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d: string) => [d, 1])) : service.depends_on ?? {})) {
      assert.ok(dependency in services, `${name} depends on ${dependency}, a service`);
    }
  }
  const server = services.server!;
  assert.deepEqual(server.ports, ["${SWAMP_PORT:-4000}:4000"]);
  assert.match(server.healthcheck.test.join(" "), /127\.0\.0\.1:4000\/readyz/);
  assertServedPath("/readyz");
  assert.ok(Number(String(services.worker!.cpus).replace(/\$\{[A-Z_]+:-(\d+)\}/, "$1")) >= 1, "workers have a CPU limit (their slots)");
  const cluster = Object.entries(services).filter(([, service]) => (service.profiles ?? []).includes("nats-cluster"));
  assert.deepEqual(cluster.map(([name]) => name).sort(), ["nats-1", "nats-2", "nats-3"]);
  const routes = readFileSync(join(DEPLOY, "nats-cluster.conf"), "utf8");
  for (const [name, service] of cluster) {
    assert.ok(routes.includes(`nats-route://${name}:6222`), `${name} is among the routes`);
    assert.equal(service.environment.NATS_SERVER_NAME, name);
  }
  assert.equal(server.environment.SWAMP_NATS_REPLICAS, "${SWAMP_NATS_REPLICAS:-1}");
  // Workers name their backend; the GPU one asks for an NVIDIA device.
  assert.notEqual(backendFlag(services.worker!.command, "compose worker"), "tensorflow-gpu");
  const gpu = services["worker-gpu"]!;
  assert.deepEqual(gpu.profiles, ["gpu"]);
  assert.equal(backendFlag(gpu.command, "compose worker-gpu"), "tensorflow-gpu");
  assert.ok(gpu.deploy.resources.reservations.devices.some((device: Doc) => device.driver === "nvidia" && device.capabilities.includes("gpu")), "the GPU worker reserves an NVIDIA GPU");
});

test("Dockerfiles: each worker image's default command names a backend", () => {
  for (const [file, expected] of [["worker.Dockerfile", "wasm"], ["worker-gpu.Dockerfile", "tensorflow-gpu"]] as const) {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(DEPLOY, file), "utf8"));
    assert.ok(cmd, `${file} has an exec-form CMD`);
    assert.equal(backendFlag(JSON.parse(cmd[1]!) as string[], file), expected);
  }
});

test("kubernetes: secrets come from the example's keys, probes hit /healthz and /readyz, ports agree, images, commands and variables exist", () => {
  const docs = parseYaml(join(DEPLOY, "kubernetes.yaml"));
  const kinds = (kind: string) => docs.filter((doc) => doc.kind === kind);
  assert.deepEqual(kinds("Secret"), [], "no Secret in the applied manifest (it would overwrite the real one)");
  const [secret] = parseYaml(join(DEPLOY, "kubernetes-secret.example.yaml"));
  assert.equal(secret!.kind, "Secret");
  const secretKeys = new Set(Object.keys(secret!.stringData));
  const configMaps = new Map(kinds("ConfigMap").map((doc) => [doc.metadata.name as string, doc]));
  const services = new Map(kinds("Service").map((doc) => [doc.metadata.name as string, doc]));
  const workloads = [...kinds("Deployment"), ...kinds("StatefulSet")];

  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const where = `${workload.kind} ${workload.metadata.name}`;
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) {
          assert.equal(ref.name, secret!.metadata.name, `${where}: secret ${ref.name}`);
          assert.ok(secretKeys.has(ref.key), `${where}: secret key ${ref.key} is in the example`);
        }
      }
      const image = String(container.image).split(":")[0]!;
      if (!(image in SWAMP_IMAGES)) continue;
      assert.ok(existsSync(join(DEPLOY, SWAMP_IMAGES[image]!)), `${where}: ${image} has a Dockerfile`);
      assertCommand(container.args, where);
      for (const variable of container.env ?? []) assert.ok(KNOWN_VARIABLES.has(variable.name), `${where}: ${variable.name} is read by swamp`);
      const ports = (container.ports ?? []).map((port: Doc) => port.containerPort);
      for (const probe of [container.readinessProbe, container.livenessProbe].filter(Boolean)) {
        assertServedPath(probe.httpGet.path);
        assert.ok(ports.includes(probe.httpGet.port), `${where}: probe port ${probe.httpGet.port} is a container port`);
      }
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.configMap) assert.ok(configMaps.has(volume.configMap.name), `${where}: ConfigMap ${volume.configMap.name} exists`);
      assert.equal(volume.persistentVolumeClaim, undefined, `${where}: no claim that nothing fills (data sets come from an init container)`);
    }
    // A Service that selects these pods targets one of their ports.
    for (const service of services.values()) {
      if (service.spec.selector.app !== workload.spec.template.metadata.labels.app) continue;
      const ports = pod.containers.flatMap((container: Doc) => (container.ports ?? []).map((port: Doc) => port.containerPort));
      for (const port of service.spec.ports) assert.ok(ports.includes(port.targetPort ?? port.port), `Service ${service.metadata.name}: port ${port.targetPort ?? port.port} is served`);
    }
  }

  const byName = new Map(workloads.map((workload) => [workload.metadata.name as string, workload]));
  const server = byName.get("swamp-server")!.spec.template.spec.containers[0];
  assert.equal(server.readinessProbe.httpGet.path, "/readyz", "readiness: database and NATS");
  assert.equal(server.livenessProbe.httpGet.path, "/healthz", "liveness: the process answers");
  const env = (container: Doc) => new Map((container.env as Doc[]).map((variable) => [variable.name, variable.value]));

  const nats = byName.get("nats")!;
  assert.equal(nats.spec.replicas, 3, "a 3-node JetStream cluster");
  assert.equal(env(server).get("SWAMP_NATS_REPLICAS"), "3", "R3 streams");
  const natsConfig = configMaps.get("swamp-nats")!.data;
  assert.ok(nats.spec.template.spec.containers[0].args.join(" ").includes("/etc/nats/nats-cluster.conf") && "nats-cluster.conf" in natsConfig);
  for (let node = 0; node < 3; node++) {
    assert.ok(natsConfig["nats-cluster.conf"].includes(`nats-route://nats-${node}.nats:6222`));
    for (const name of ["swamp-server", "swamp-worker", "swamp-worker-gpu"]) {
      assert.ok(env(byName.get(name)!.spec.template.spec.containers[0]).get("NATS_URL").includes(`nats://nats-${node}.nats:4222`), `${name} knows node ${node}`);
    }
  }
  assert.equal(services.get("nats")!.spec.clusterIP, "None", "headless, for the nodes' stable names");

  const [ingress] = kinds("Ingress");
  const host = ingress!.spec.rules[0].host;
  assert.deepEqual(ingress!.spec.tls[0].hosts, [host], "TLS for the host");
  assert.equal(env(server).get("SWAMP_PUBLIC_URL"), `https://${host}`, "download links use the Ingress's https address");
  const backend = ingress!.spec.rules[0].http.paths[0].backend.service;
  assert.ok(services.get(backend.name)!.spec.ports.some((port: Doc) => port.port === backend.port.number), "the Ingress reaches the server's Service");

  const gpu = byName.get("swamp-worker-gpu")!.spec.template.spec;
  assert.ok(Object.keys(gpu.nodeSelector ?? {}).length > 0, "GPU workers only on GPU nodes");
  assert.equal(gpu.containers[0].resources.limits["nvidia.com/gpu"], 1);
  assert.ok(gpu.tolerations.some((toleration: Doc) => toleration.key === "nvidia.com/gpu"), "GPU workers tolerate the GPU nodes' taint");
  // Routing: each kind of worker names the backend it advertises (tasks of an experiment go to one backend only).
  assert.equal(backendFlag(gpu.containers[0].args, "swamp-worker-gpu"), "tensorflow-gpu");
  assert.equal(flagValue(gpu.containers[0].args, "--slots"), "1", "one task per GPU");
  const cpu = byName.get("swamp-worker")!.spec.template.spec;
  assert.notEqual(backendFlag(cpu.containers[0].args, "swamp-worker"), "tensorflow-gpu");
  assert.equal(cpu.containers[0].resources.limits["nvidia.com/gpu"], undefined, "CPU workers hold no GPU");
  assert.equal(cpu.nodeSelector?.["nvidia.com/gpu.present"], undefined);
  for (const name of ["swamp-worker", "swamp-worker-gpu"]) {
    const pod = byName.get(name)!.spec.template.spec;
    assert.match(pod.initContainers[0].command.join(" "), /dataset-fashion-mnist/, `${name}: its init container provides the data set`);
  }
});
