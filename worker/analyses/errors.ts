/** Errors an analysis raises for what the caller asked (not for a fault of the engine): the CLI exits 2 on them, GraphQL reports them as bad input. */

/** The sources, or the models the input selects from them, cannot serve the analysis. */
export class AnalysisSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnalysisSourceError";
  }
}

/** Two models compared under mask "same" have different masks. */
export class MaskMismatchError extends AnalysisSourceError {
  constructor(message: string) {
    super(message);
    this.name = "MaskMismatchError";
  }
}
