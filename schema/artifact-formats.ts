/**
 * The `format` an artifact is stored with, named once for the workers that write artifacts, the
 * coordinator and run import that register them, and the exports that read them back.
 */
export const WEIGHTS_FORMAT = "swamp-weights";
export const MASK_FORMAT = "swamp-mask";
/** A TF.js layers model's model.json (its manifest names the weights file `weights.bin`). */
export const TFJS_MODEL_FORMAT = "tfjs-layers-model";
export const TFJS_WEIGHTS_FORMAT = "tfjs-layers-weights";
