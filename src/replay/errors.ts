/**
 * Errors of the dataset replay server, one class per condition, each with a stable
 * code. The MCP server turns them into tool errors (`isError: true`) whose text
 * starts with the code; opening a bad case directory throws before anything serves.
 */

/** Stable error codes of the replay server. */
export const REPLAY_ERROR_CODES = {
  /** The directory is not a case bundle (no readable case.json, invalid case.json, no metrics file). */
  invalid_case: 'invalid_case',
  /** A data file of the bundle cannot be parsed (bad gzip, bad CSV header, bad JSON line). */
  invalid_data: 'invalid_data',
  /** Tool input failed validation, or the window is inverted. */
  invalid_query: 'invalid_query',
  /** The recording has no such telemetry (e.g. no topology.json and no traces to derive one from). */
  not_recorded: 'not_recorded',
  /** A remediation tool was called: a recorded incident cannot be acted on. */
  recorded_incident: 'recorded_incident',
} as const;
export type ReplayErrorCode = keyof typeof REPLAY_ERROR_CODES;

/** Base class: every replay error has a stable code. */
export class ReplayError extends Error {
  readonly code: ReplayErrorCode;
  constructor(code: ReplayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown by `ReplayModel.open` when `dir` is not a case bundle of FORMAT.md. */
export class InvalidCaseError extends ReplayError {
  constructor(
    readonly dir: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('invalid_case', `${dir} is not a case bundle: ${reason}`, options);
  }
}

/** Thrown when a data file of the bundle cannot be parsed; `line` is 1-based when known. */
export class InvalidDataError extends ReplayError {
  constructor(
    readonly file: string,
    reason: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super('invalid_data', `${file}${line !== undefined ? `:${line}` : ''}: ${reason}`, options);
  }
}

/** Thrown for an inverted window or an unknown log level. */
export class InvalidReplayQueryError extends ReplayError {
  constructor(message: string) {
    super('invalid_query', message);
  }
}

/** Thrown when the recording lacks what was asked for (and it cannot be derived). */
export class NotRecordedError extends ReplayError {
  constructor(message: string) {
    super('not_recorded', message);
  }
}

/** Thrown by every remediation tool of the replay server: nothing is ever acted on. */
export class RecordedIncidentError extends ReplayError {
  constructor(
    readonly caseId: string,
    readonly tool: string,
  ) {
    super('recorded_incident', `${tool} refused: case ${caseId} is a recorded incident replayed from a dataset; it cannot be acted on`);
  }
}
