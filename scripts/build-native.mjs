// Builds swamp's optional native kernels (native/, a Node-API addon over the system BLAS) with
// node-gyp. Run by `npm install`; it never fails the install: whatever is missing (a C compiler,
// make, Python for gyp, Node's headers, a BLAS), it prints one line saying so and exits 0, and
// training then uses the pure-wasm kernels. Rerun it by hand with `node scripts/build-native.mjs`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const logPath = join(nativeDir, "build", "build.log");
const addonPath = join(nativeDir, "build", "Release", "swamp_native.node");
/** What the addon was last built from (inputsDigest), so an unchanged tree is not rebuilt. */
const stampPath = join(nativeDir, "build", "inputs.sha256");
const fallback = "training will use the pure-wasm kernels";

function say(line) {
  console.log(`swamp native kernels: ${line}`);
}

function commandWorks(command, args) {
  const result = spawnSync(command, args, { stdio: "ignore" });
  return result.error === undefined && result.status === 0;
}

/** npm exports the path of its bundled node-gyp to install scripts; elsewhere look beside node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  const script = candidates.find((path) => path && existsSync(path));
  if (script) return { command: process.execPath, args: [script] };
  if (commandWorks("node-gyp", ["--version"])) return { command: "node-gyp", args: [] };
  return undefined;
}

/** Node's own headers beside the binary (distribution packages ship them) spare node-gyp a download. */
function localNodeDir() {
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;
}

function blasMissingNote() {
  if (process.platform !== "linux") return undefined;
  if (process.env.SWAMP_BLAS_LIBRARY) return undefined;
  const listing = ["/sbin/ldconfig", "ldconfig"]
    .map((command) => spawnSync(command, ["-p"], { encoding: "utf8" }))
    .find((result) => result.status === 0)?.stdout ?? "";
  if (/libopenblas\.so/.test(listing)) return undefined;
  return "no OpenBLAS found (Debian/Ubuntu: apt-get install libopenblas0)";
}

/** The line of node-gyp's output that says what went wrong, without its stack-trace noise. */
function firstErrorLine(output) {
  const lines = output.split("\n").map((line) => line.trim()).filter(Boolean);
  const meaningful = lines.filter(
    (line) =>
      !/^gyp (info|http)/.test(line) &&
      !/^gyp ERR! (stack\s+at |cwd|node -v|node-gyp -v|command|System|not ok|build error|configure error)/.test(line),
  );
  const error = meaningful.find((line) => /error|not found|cannot|no such/i.test(line)) ?? meaningful.at(-1) ?? "no output";
  return error.replace(/^gyp ERR! (stack )?/, "").slice(0, 200);
}

/**
 * The addon's inputs: its sources and gyp file, the compiler settings, and the Node ABI it is built
 * for. npx builds the project again in a fresh clone (it installs the local package to run its bin),
 * and with nothing changed that second build is skipped.
 */
function inputsDigest() {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([process.versions.modules, process.platform, process.arch, process.env.CC ?? "", process.env.CFLAGS ?? ""]));
  const sources = readdirSync(join(nativeDir, "src")).sort().map((name) => join("src", name));
  for (const file of ["binding.gyp", ...sources]) hash.update(file).update(readFileSync(join(nativeDir, file)));
  return hash.digest("hex");
}

function upToDate(digest) {
  try {
    return existsSync(addonPath) && readFileSync(stampPath, "utf8") === digest;
  } catch {
    return false;
  }
}

function main() {
  if (process.env.SWAMP_NATIVE === "0") {
    say(`not built (SWAMP_NATIVE=0); ${fallback}`);
    return;
  }
  const compiler = process.env.CC ?? "cc";
  if (process.platform !== "win32" && !commandWorks(compiler, ["--version"])) {
    say(`not built: no C compiler (${compiler}; Debian/Ubuntu: apt-get install build-essential); ${fallback}`);
    return;
  }
  const digest = inputsDigest();
  if (upToDate(digest)) {
    say("up to date (native/build/Release/swamp_native.node)");
    return;
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    say(`not built: node-gyp not found (it ships with npm); ${fallback}`);
    return;
  }
  const args = [...nodeGyp.args, "rebuild", "--release"];
  const nodeDir = localNodeDir();
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);
  const result = spawnSync(nodeGyp.command, args, {
    cwd: nativeDir,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, npm_config_loglevel: "warn" },
  });
  const output = `${result.stdout ?? ""}\n${result.stderr ?? ""}\n${result.error ? String(result.error) : ""}`;
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, `$ ${nodeGyp.command} ${args.join(" ")}\n${output}`);
  } catch {
    // The log is a convenience; failing to write it must not fail the install.
  }
  if (result.status !== 0 || !existsSync(addonPath)) {
    say(`not built (${firstErrorLine(output)}; full log: native/build/build.log); ${fallback}`);
    return;
  }
  try {
    writeFileSync(stampPath, digest);
  } catch {
    // Without the stamp the next install only builds again.
  }
  const blasNote = blasMissingNote();
  say(blasNote ? `built, but ${blasNote}; ${fallback} until it is installed` : "built (native/build/Release/swamp_native.node)");
}

try {
  main();
} catch (error) {
  say(`not built (${error instanceof Error ? error.message : String(error)}); ${fallback}`);
}
process.exit(0);
