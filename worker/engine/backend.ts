/**
 * Chooses this thread's TensorFlow.js backend, once, and says what it chose.
 *
 * Preference, when nothing is forced: @tensorflow/tfjs-node-gpu on a machine with a GPU, then
 * @tensorflow/tfjs-node, then `wasm` (tfjs-backend-wasm with the project's training kernels, and
 * the native BLAS kernels on top where they load), then the pure-JS `cpu` backend. `SWAMP_BACKEND`
 * (or the `requested` argument) forces one of "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu".
 *
 * Neither tfjs-node package is a dependency (they cannot install where libtensorflow cannot be
 * downloaded), so they are loaded with a plain `require` only when present, and typed here by the
 * little this file reads from them.
 *
 * Every worker thread has its own engine, kernel registry and wasm instance, so each thread calls
 * initBackend itself; within a thread the first call decides and later calls return the same info.
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { version_cpu } from "@tensorflow/tfjs-backend-cpu";
import { getThreadsCount, setWasmPaths, version_wasm } from "@tensorflow/tfjs-backend-wasm";
// tfjs-core's CommonJS bundle registers no gradients; tfjs-layers registers all of them.
import { version_layers } from "@tensorflow/tfjs-layers";
import { requestedBackend } from "./backend-request.js";
import { routeUnbiasedConv2D } from "./conv-layer.js";
import { registerNativeKernels } from "./native-kernels/index.js";
import { PROJECT_WASM_KERNEL_SET, registerProjectWasmKernels } from "./wasm-kernels/index.js";

import { BACKEND_NAMES } from "../../schema/config-names.js";

export type BackendName = (typeof BACKEND_NAMES)[number];
export { BACKEND_NAMES };

export interface BackendInfo {
  name: BackendName;
  /** Whether the wasm backend runs its SIMD build (false for the other backends). */
  simd: boolean;
  /** Threads the backend computes with (wasm: XNNPACK's pool; tfjs-node: TensorFlow decides, reported as 0). */
  threads: number;
  /** Package → version of everything that computes: tfjs-core, the backends, tfjs-node, the BLAS. */
  versions: Record<string, string>;
  /** Which project kernel sets are registered, e.g. ["project-wasm", "native"]. */
  kernels: string[];
}

/** The kernel set name reported when the native BLAS kernels are registered over the wasm ones. */
export const NATIVE_KERNEL_SET = "native";

const TFJS_NODE = "@tensorflow/tfjs-node";
const TFJS_NODE_GPU = "@tensorflow/tfjs-node-gpu";
/** The backend name both tfjs-node packages register. */
const TENSORFLOW_BACKEND = "tensorflow";

/** What this file reads of tfjs-node's backend (NodeJSKernelBackend). */
interface TfjsNodeBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

let selection: Promise<BackendInfo> | undefined;
let chosen: BackendInfo | undefined;

function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${source}: unknown TensorFlow.js backend ${JSON.stringify(value)}; expected one of ${BACKEND_NAMES.join(", ")} (or nothing, to choose automatically)`);
}

/** The forced backend, if any (see requestedBackend), checked against the known names. */
function forcedBackend(requested: string | undefined): { name: BackendName | undefined; source: string } {
  const { name, source } = requestedBackend(requested);
  return { name: name === undefined ? undefined : parseBackendName(name, source), source };
}

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

function packageVersion(packageName: string): string | undefined {
  try {
    return (require(`${packageName}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** An NVIDIA device node or driver entry: worth trying tfjs-node-gpu at all. */
function gpuDevicePresent(): boolean {
  try {
    if (existsSync("/dev/nvidia0")) return true;
    return existsSync("/proc/driver/nvidia/gpus") && readdirSync("/proc/driver/nvidia/gpus").length > 0;
  } catch {
    return false;
  }
}

function coreVersions(): Record<string, string> {
  return {
    "@tensorflow/tfjs-core": tf.version_core,
    "@tensorflow/tfjs-backend-cpu": version_cpu,
    "@tensorflow/tfjs-backend-wasm": version_wasm,
    "@tensorflow/tfjs-layers": version_layers,
  };
}

/**
 * Loads a tfjs-node package and makes its backend current. Both packages register the backend
 * "tensorflow" in the tfjs-core they resolve; if that is not this project's tfjs-core (a version
 * mismatch gives the package its own copy), the backend is unreachable from here and that is
 * reported rather than silently training on something else.
 */
async function activateTfjsNode(packageName: string, forced: string): Promise<TfjsNodeBackend> {
  if (!isInstalled(packageName)) {
    throw new Error(`${forced}: ${packageName} is not installed (it needs libtensorflow, which its install step downloads); install ${packageName}@${tf.version_core} or choose "wasm" or "cpu"`);
  }
  try {
    require(packageName);
  } catch (error) {
    throw new Error(`${forced}: ${packageName} is installed but failed to load: ${(error as Error).message}`);
  }
  if (tf.findBackendFactory(TENSORFLOW_BACKEND) === null) {
    throw new Error(`${forced}: ${packageName} loaded but registered no "${TENSORFLOW_BACKEND}" backend with this project's @tensorflow/tfjs-core ${tf.version_core} (it probably has its own copy); install the version matching tfjs-core`);
  }
  if (!(await tf.setBackend(TENSORFLOW_BACKEND))) {
    throw new Error(`${forced}: the "${TENSORFLOW_BACKEND}" backend of ${packageName} failed to initialise`);
  }
  return tf.backend() as unknown as TfjsNodeBackend;
}

function tfjsNodeInfo(name: "tensorflow-gpu" | "tensorflow", packageName: string): BackendInfo {
  return {
    name,
    simd: false,
    threads: 0,
    versions: { ...coreVersions(), [packageName]: packageVersion(packageName) ?? "unknown" },
    kernels: [],
  };
}

async function useTensorflowGpu(forced: string): Promise<BackendInfo> {
  const backend = await activateTfjsNode(TFJS_NODE_GPU, forced);
  if (!backend.isUsingGpuDevice) {
    throw new Error(`${forced}: ${TFJS_NODE_GPU} loaded but TensorFlow sees no GPU (check the NVIDIA driver, CUDA and cuDNN versions it needs)`);
  }
  return tfjsNodeInfo("tensorflow-gpu", TFJS_NODE_GPU);
}

async function useTensorflow(forced: string): Promise<BackendInfo> {
  // tfjs-node-gpu also runs on the CPU; it stands in when it is the one installed.
  const packageName = isInstalled(TFJS_NODE) || !isInstalled(TFJS_NODE_GPU) ? TFJS_NODE : TFJS_NODE_GPU;
  await activateTfjsNode(packageName, forced);
  return tfjsNodeInfo("tensorflow", packageName);
}

let wasmPathsSet = false;

async function useWasm(forced: string): Promise<BackendInfo> {
  if (!wasmPathsSet) {
    // The .wasm files sit beside the package's main script; never fetch them from a CDN.
    setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`);
    wasmPathsSet = true;
  }
  // Before the backend initialises, so that every kernel's setup runs with it.
  registerProjectWasmKernels();
  routeUnbiasedConv2D(() => tf.getBackend() === "wasm");
  const native = registerNativeKernels();
  if (!(await tf.setBackend("wasm"))) {
    throw new Error(`${forced}: the wasm backend failed to initialise (its .wasm files are looked for in ${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))})`);
  }
  const versions = coreVersions();
  const kernels = [PROJECT_WASM_KERNEL_SET];
  if (native.loaded) {
    kernels.push(NATIVE_KERNEL_SET);
    versions.blas = native.coreType ? `${native.library ?? "unknown"} (${native.coreType})` : native.library ?? "unknown";
  }
  return {
    name: "wasm",
    simd: (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true,
    threads: getThreadsCount(),
    versions,
    kernels,
  };
}

async function useCpu(forced: string): Promise<BackendInfo> {
  if (!(await tf.setBackend("cpu"))) throw new Error(`${forced}: the cpu backend failed to initialise`);
  return { name: "cpu", simd: false, threads: 1, versions: coreVersions(), kernels: [] };
}

const USE: Record<BackendName, (forced: string) => Promise<BackendInfo>> = {
  "tensorflow-gpu": useTensorflowGpu,
  tensorflow: useTensorflow,
  wasm: useWasm,
  cpu: useCpu,
};

/** The first backend of the preference order that works here. */
async function chooseAutomatically(): Promise<BackendInfo> {
  const failures: string[] = [];
  const attempt = async (name: BackendName): Promise<BackendInfo | undefined> => {
    try {
      return await USE[name]("automatic backend choice");
    } catch (error) {
      failures.push((error as Error).message);
      return undefined;
    }
  };
  // The two tfjs-node packages cannot share a process; load the GPU one only where a GPU is.
  if (isInstalled(TFJS_NODE_GPU) && gpuDevicePresent()) {
    try {
      const backend = await activateTfjsNode(TFJS_NODE_GPU, "automatic backend choice");
      return tfjsNodeInfo(backend.isUsingGpuDevice ? "tensorflow-gpu" : "tensorflow", TFJS_NODE_GPU);
    } catch (error) {
      failures.push((error as Error).message);
    }
  } else if (isInstalled(TFJS_NODE) || isInstalled(TFJS_NODE_GPU)) {
    const info = await attempt("tensorflow");
    if (info) return info;
  }
  const info = (await attempt("wasm")) ?? (await attempt("cpu"));
  if (!info) throw new Error(`no TensorFlow.js backend could be initialised:\n  ${failures.join("\n  ")}`);
  if (failures.length > 0) process.emitWarning(`TensorFlow.js backend "${info.name}" chosen after: ${failures.join("; ")}`);
  return info;
}

/**
 * Selects this thread's backend (see the file comment) and returns what was chosen. Idempotent:
 * later calls return the same info; asking for a different backend after the choice is an error.
 * A failed selection is not remembered, so a later call may try again.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const { name, source } = forcedBackend(requested);
  if (!selection) {
    const attempt = name === undefined ? chooseAutomatically() : USE[name](`${source}=${name}`);
    selection = attempt;
    attempt.then(
      (info) => {
        chosen = info;
      },
      () => {
        if (selection === attempt) selection = undefined;
      },
    );
  }
  const info = await selection;
  if (name !== undefined && name !== info.name) {
    throw new Error(`${source}: this thread already runs TensorFlow.js on "${info.name}"; it cannot switch to "${name}"`);
  }
  return info;
}

/** What initBackend chose in this thread, or undefined before it has finished. */
export function backendInfo(): BackendInfo | undefined {
  return chosen;
}
