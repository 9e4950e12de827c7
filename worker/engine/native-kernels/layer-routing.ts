/**
 * Replacing a tfjs-layers class's `call` with a routed version, once per thread. The classes are
 * not exported by name, so they are found through the serialization registry; the original `call`
 * is kept under a marker symbol, which also makes installing twice a no-op.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";

/** `this` and kwargs are `any` here because each class has its own; every routed function types them. */
export type LayerCall = (this: any, inputs: tf.Tensor | tf.Tensor[], kwargs: any) => tf.Tensor | tf.Tensor[];

/** Returns false when tfjs-layers has no class of that name. */
export function routeLayerCall(className: string, marker: symbol, route: (original: LayerCall) => LayerCall): boolean {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  const proto = entry?.[0]?.prototype as ({ call: LayerCall } & Record<symbol, LayerCall | undefined>) | undefined;
  if (!proto) return false;
  if (proto[marker]) return true;
  const original = proto.call;
  proto[marker] = original;
  proto.call = route(original);
  return true;
}

/** The one tensor a layer was called with, or undefined when it got several. */
export function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | undefined {
  return Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
}
