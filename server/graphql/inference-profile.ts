import { Field, Float, Int, ObjectType } from "type-graphql";

@ObjectType("DenseSparse", { description: "One figure with the dense kernels and with the sparse kernels (equal where no sparse kernel applies)." })
export class DenseSparse {
  @Field(() => Float)
  dense!: number;

  @Field(() => Float)
  sparse!: number;
}

@ObjectType("InferenceProfile", {
  description: "What a cycle's averaged model costs to run, measured on the CPU of the worker that aggregated it (schema/inference-profile.ts).",
})
export class InferenceProfile {
  @Field(() => Float, { description: "Surviving parameters: kept prunable weights plus every unprunable one." })
  parameters!: number;

  @Field(() => Float, { description: "Bytes of the compact sparse file (bit masks, surviving values, header, checksum)." })
  sparseBytes!: number;

  @Field(() => Float, { description: "Bytes of every parameter as dense float32." })
  denseBytes!: number;

  @Field(() => Float, { description: "FLOPs per example of the dense and convolution layers over all weights." })
  denseFlops!: number;

  @Field(() => Float, { description: "FLOPs per example over the kept weights only." })
  sparseFlops!: number;

  @Field(() => DenseSparse, { description: "Batch-1 forward pass, median milliseconds after warm-up." })
  latencyMs!: DenseSparse;

  @Field(() => DenseSparse, { description: "Batch-1 forward pass, 95th percentile milliseconds." })
  latencyP95Ms!: DenseSparse;

  @Field(() => DenseSparse, { description: "The slowest batch-1 run (outliers are reported, not dropped)." })
  latencyMaxMs!: DenseSparse;

  @Field(() => DenseSparse, { description: "Batch-1 runs that took over twice the median." })
  latencyOutliers!: DenseSparse;

  @Field(() => Int)
  latencyRuns!: number;

  @Field(() => DenseSparse, { description: "Examples per second at batch throughputBatch, one thread." })
  throughput!: DenseSparse;

  @Field(() => Int)
  throughputBatch!: number;

  @Field(() => Int)
  threads!: number;

  @Field(() => String, { description: "The TF.js backend." })
  backend!: string;

  @Field(() => [String], { description: "Kernel sets in use; native-sparse when pruned layers ran on the sparse kernels." })
  kernels!: string[];

  @Field(() => [String], { description: "Layers that ran on the sparse kernels in the sparse measurement." })
  sparseLayers!: string[];

  @Field(() => String)
  cpu!: string;

  @Field(() => Float, { description: "Wall time of the profile itself, seconds." })
  seconds!: number;
}
