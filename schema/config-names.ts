/**
 * Names known to the worker's registries (the registries are typed against these lists). A module
 * of its own, free of Node imports, so the web dashboard's filters offer the same names.
 */
export const DATASET_NAMES = ["fashion-mnist", "mnist", "cifar10", "synthetic"] as const;
export const MODEL_NAMES = ["lenet-300-100", "lenet-5", "conv-2", "conv-4", "conv-6", "resnet-20"] as const;
export const METHOD_NAMES = ["imp", "imp-swa", "swamp", "swamp-sgd"] as const;
export const SCHEDULE_NAMES = ["cosine", "step", "constant"] as const;
export const PRUNING_SCOPES = ["global", "layerwise"] as const;
/** Weight initialisations (`model.init`); absent means the first, the one every earlier run used. */
export const MODEL_INITS = ["kaiming-normal", "torch-default"] as const;
/** TensorFlow.js backends a worker can run on (worker/engine/backend.ts chooses among them). */
export const BACKEND_NAMES = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
/**
 * What an experiment may require of the backend (`execution.backend`): one of the backends, or
 * `any` (absent means `any`), in which case the experiment still stays on one backend, the one its
 * first result was computed on, since backends round floats differently.
 */
export const EXECUTION_BACKENDS = ["any", ...BACKEND_NAMES] as const;
