import { AnalysisRow } from "../entities/analysis.js";
import { ApiTokenRow } from "../entities/api-token.js";
import { ArtifactRow } from "../entities/artifact.js";
import { CycleRow } from "../entities/cycle.js";
import { ExperimentRow } from "../entities/experiment.js";
import { ExperimentFrontierRow } from "../entities/experiment-frontier.js";
import { MetricBlockRow } from "../entities/metric-block.js";
import { MetricPointRow } from "../entities/metric-point.js";
import { MetricSeriesRow } from "../entities/metric-series.js";
import { ParticleRow } from "../entities/particle.js";
import { SweepRow } from "../entities/sweep.js";
import { TaskResultRow } from "../entities/task-result.js";
import { WorkerRow } from "../entities/worker.js";

/** Every table the server owns; the migrations must produce exactly these. */
export const ENTITIES = [ExperimentRow, ExperimentFrontierRow, CycleRow, ParticleRow, MetricSeriesRow, MetricPointRow, MetricBlockRow, ArtifactRow, WorkerRow, ApiTokenRow, TaskResultRow, SweepRow, AnalysisRow];
