/**
 * SGD with momentum and coupled weight decay, as PyTorch formulates it (v ← μv + g + λw,
 * w ← w − ηv), with a mask multiplied into both the weights and their momentum after every step so
 * pruned weights, and the velocity that would revive them, stay exactly zero. Where the backend
 * has the fused kernel (the native kernels register it for wasm) each variable's step is one pass;
 * elsewhere the same float32 operations run one by one, in the same order, to the same values.
 */
import * as tf from "@tensorflow/tfjs-core";
import { attachMask } from "./weight-masks.js";

export interface SgdSettings {
  momentum: number;
  weightDecay: number;
}

/** Kernel inputs: variable, gradient, velocity and optionally mask; outputs: [variable, velocity]. */
export const MASKED_SGD_KERNEL = "SwampMaskedSgd";

export interface MaskedSgdAttrs {
  learningRate: number;
  momentum: number;
  weightDecay: number;
}

export class MaskedSgd {
  private readonly velocities: tf.Tensor[];
  private readonly momentum: tf.Scalar;
  private readonly decay: tf.Scalar;

  /** `masks[i]` is the 0/1 mask of `variables[i]`, or undefined where it is not pruned. */
  constructor(
    private readonly variables: tf.Variable[],
    private readonly masks: Array<tf.Tensor | undefined>,
    private readonly settings: SgdSettings,
  ) {
    this.velocities = variables.map((v) => tf.keep(tf.zerosLike(v)));
    variables.forEach((variable, i) => {
      const mask = masks[i];
      // The invariant every step keeps (pruned weights are exactly 0) holds from the start.
      if (mask) tf.tidy(() => variable.assign(tf.mul(variable, mask)));
      this.attachMaskTo(variable, i);
    });
    this.momentum = tf.keep(tf.scalar(settings.momentum));
    this.decay = tf.keep(tf.scalar(settings.weightDecay));
  }

  /** Applies one update; `gradients[i]` belongs to `variables[i]`. */
  step(gradients: tf.Tensor[], learningRate: number): void {
    const fused = tf.getKernel(MASKED_SGD_KERNEL, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      const lr = tf.scalar(learningRate);
      this.variables.forEach((variable, i) => {
        const gradient = gradients[i]!;
        const [updated, velocity] = fused && variable.dtype === "float32" ? this.fusedStep(variable, gradient, i, learningRate) : this.composedStep(variable, gradient, i, lr);
        variable.assign(updated!);
        this.attachMaskTo(variable, i);
        this.velocities[i]!.dispose();
        this.velocities[i] = tf.keep(velocity!);
      });
    });
  }

  private fusedStep(variable: tf.Variable, gradient: tf.Tensor, i: number, learningRate: number): tf.Tensor[] {
    const mask = this.masks[i];
    const inputs: tf.NamedTensorMap = { variable, gradient, velocity: this.velocities[i]!, ...(mask ? { mask } : {}) };
    const attrs: MaskedSgdAttrs = { learningRate, momentum: this.settings.momentum, weightDecay: this.settings.weightDecay };
    return tf.engine().runKernel(MASKED_SGD_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  }

  private composedStep(variable: tf.Variable, gradient: tf.Tensor, i: number, lr: tf.Scalar): tf.Tensor[] {
    const mask = this.masks[i];
    const decayed = this.settings.weightDecay > 0 ? tf.add(gradient, tf.mul(variable, this.decay)) : gradient;
    let velocity = tf.add(tf.mul(this.velocities[i]!, this.momentum), decayed);
    let updated = tf.sub(variable, tf.mul(velocity, lr));
    if (mask) {
      velocity = tf.mul(velocity, mask);
      updated = tf.mul(updated, mask);
    }
    return [updated, velocity];
  }

  /** Kernels that skip pruned weights find the mask from the variable's current data. */
  private attachMaskTo(variable: tf.Variable, i: number): void {
    const mask = this.masks[i];
    if (mask) attachMask(variable, mask);
  }

  /** The momentum buffers' values, for inspection. */
  velocityValues(): Float32Array[] {
    return this.velocities.map((v) => v.dataSync() as Float32Array);
  }

  dispose(): void {
    tf.dispose([...this.velocities, this.momentum, this.decay]);
    tf.dispose(this.masks.filter((m): m is tf.Tensor => m !== undefined));
  }
}
