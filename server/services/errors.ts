/**
 * Errors the service layer raises on purpose. Their messages are safe to show to API clients;
 * the GraphQL layer maps each kind to an error code, and hides every other error's details.
 */
export interface InputProblem {
  /** Dotted path of the offending field, e.g. `training.lr` or `tags.2`. */
  path: string;
  message: string;
}

export class InvalidInputError extends Error {
  constructor(
    message: string,
    readonly problems: InputProblem[],
  ) {
    super(message);
    this.name = "InvalidInputError";
  }

  static single(path: string, message: string): InvalidInputError {
    return new InvalidInputError(`${path}: ${message}`, [{ path, message }]);
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** The request is well-formed but the record's state forbids it (e.g. cancelling a finished run). */
export class StateConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateConflictError";
  }
}
