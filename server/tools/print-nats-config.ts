/**
 * Writes deploy/nats-server.conf, the NATS users by role (see transport/nats/roles.ts). A test
 * fails when the file, or the copy in deploy/kubernetes.yaml, is stale:
 *
 *   npx tsc -p . && node dist/server/tools/print-nats-config.js
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fleetNames } from "../../schema/subjects.js";
import { renderDeployNatsConfig } from "../../transport/nats/roles.js";

export const NATS_CONFIG_FILE = resolve(__dirname, "../../../deploy/nats-server.conf");

writeFileSync(NATS_CONFIG_FILE, renderDeployNatsConfig(fleetNames("")));
console.log(`wrote ${NATS_CONFIG_FILE}; copy it into the swamp-nats ConfigMap of deploy/kubernetes.yaml`);
