import { InitialSchema1795855086959 } from "./1795855086959-initial-schema.js";
import { ExperimentFrontiers1795856553332 } from "./1795856553332-experiment-frontiers.js";
import { ExperimentNameSearch1795857600000 } from "./1795857600000-experiment-name-search.js";
import { TaskResults1795857731439 } from "./1795857731439-task-results.js";
import { Sweeps1796408721282 } from "./1796408721282-sweeps.js";
import { ImportedRuns1796500000000 } from "./1796500000000-imported-runs.js";
import { Analyses1796600000000 } from "./1796600000000-analyses.js";
import { CycleInference1796610000000 } from "./1796610000000-cycle-inference.js";
import { StoredBytes1796620000000 } from "./1796620000000-stored-bytes.js";
import { ExperimentBackend1796647000000 } from "./1796647000000-experiment-backend.js";

/**
 * Every migration, oldest first. A new one is generated from the entities with
 * `node dist/server/tools/generate-migration.js <PascalCaseName>` and listed here.
 */
export const MIGRATIONS: Function[] = [InitialSchema1795855086959, ExperimentFrontiers1795856553332, ExperimentNameSearch1795857600000, TaskResults1795857731439, Sweeps1796408721282, ImportedRuns1796500000000, Analyses1796600000000, CycleInference1796610000000, StoredBytes1796620000000, ExperimentBackend1796647000000];
