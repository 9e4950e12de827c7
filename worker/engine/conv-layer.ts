/**
 * tfjs-layers' Conv2D without bias or activation (every convolution followed by BatchNorm) as the
 * plain conv2d op. tfjs-layers calls the fused op even then, and the fused op's gradient
 * (a customGrad) computes the input gradient eagerly, wanted or not: for the first layer, whose
 * input is the data, that is a whole backward convolution thrown away every step (Conv-4: 22 of
 * 440 ms). The plain op's registered gradient is evaluated only for inputs that need it. Forward
 * values and every wanted gradient are the same operations as before.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import { routeLayerCall, singleInput } from "./native-kernels/layer-routing.js";

interface Conv2DLike {
  rank: number;
  kernel: { read(): tf.Tensor } | null;
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
}

/** Installs the routing once per thread; `enabled()` is asked at every call. Returns false when tfjs-layers' class was not found. */
export function routeUnbiasedConv2D(enabled: () => boolean): boolean {
  return routeLayerCall("Conv2D", Symbol.for("swamp.unbiasedConv2D"), (original) =>
    function (this: Conv2DLike, inputs, kwargs) {
      const input = singleInput(inputs);
      const routable =
        input !== undefined && input.rank === 4 && this.rank === 2 && this.kernel !== null && this.bias === null &&
        (this.activation === null || this.activation.getClassName() === "linear") && this.dataFormat === "channelsLast" &&
        (this.padding === "same" || this.padding === "valid") && enabled();
      if (!routable) return original.call(this, inputs, kwargs);
      return tf.conv2d(input as tf.Tensor4D, this.kernel!.read() as tf.Tensor4D, this.strides as [number, number], this.padding as "same" | "valid", "NHWC", this.dilationRate as [number, number]);
    },
  );
}
