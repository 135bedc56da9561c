/**
 * Errors the simulator throws, one class per condition, each with a stable code and
 * the HTTP status the control API answers with. The MCP server turns them into tool
 * errors (`isError: true`) whose text starts with the code.
 */

/** Stable error codes and their HTTP status. */
export const SIMULATOR_ERROR_CODES = {
  /** The named service is not part of the simulated system. */
  unknown_service: 404,
  /** Tool or control input failed validation. */
  invalid_input: 400,
  /** The fault cannot be injected into that service (e.g. no database pool, no flag to turn on). */
  invalid_fault: 400,
  /** The action is not possible (unknown release or flag). */
  invalid_action: 400,
  /** The query is too large or its window is inverted. */
  invalid_query: 400,
  /** The idempotency key was used before with different arguments. */
  idempotency_conflict: 409,
  /** A remediation step failed on purpose, per the fault's `failStep`. */
  injected_failure: 500,
  /** No prepared action has this handle. */
  unknown_prepared: 404,
  /** The prepared action cannot be committed: expired, aborted, committed with another key. */
  prepared_not_committable: 409,
  /** The state the prepared action was validated against has changed: it is stale. */
  prepared_stale: 409,
  /** The same action on the same service is already prepared, or a prepare key was reused. */
  prepared_conflict: 409,
} as const;
export type SimulatorErrorCode = keyof typeof SIMULATOR_ERROR_CODES;

/** Base class: every simulator error has a code and an HTTP status. */
export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode;
  readonly httpStatus: number;
  constructor(code: SimulatorErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = SIMULATOR_ERROR_CODES[code];
  }
}

/** Thrown when a query, action or injection names a service the system does not have. */
export class UnknownServiceError extends SimulatorError {
  constructor(
    readonly service: string,
    readonly known: readonly string[],
  ) {
    super('unknown_service', `unknown service "${service}"; known services: ${known.join(', ')}`);
  }
}

/** Thrown when input fails its schema; `fields` names the offending fields. */
export class InvalidInputError extends SimulatorError {
  constructor(
    message: string,
    readonly fields: readonly string[],
  ) {
    super('invalid_input', message);
  }
}

/** Thrown when a fault kind does not apply to the chosen service. */
export class InvalidFaultError extends SimulatorError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super('invalid_fault', message);
  }
}

/** Thrown when an action cannot be carried out (unknown release or flag); nothing changed. */
export class InvalidActionError extends SimulatorError {
  constructor(message: string) {
    super('invalid_action', message);
  }
}

/** Thrown when a telemetry query is inverted or too large. */
export class InvalidQueryError extends SimulatorError {
  constructor(message: string) {
    super('invalid_query', message);
  }
}

/** Thrown when an idempotency key is reused with different arguments; nothing changed. */
export class IdempotencyConflictError extends SimulatorError {
  constructor(readonly idempotencyKey: string) {
    super('idempotency_conflict', `idempotency key "${idempotencyKey}" was already used with different arguments`);
  }
}

/**
 * Thrown by the remediation step a fault's `failStep` designates; nothing changed.
 * The failure is sticky: retrying with the same key fails again.
 */
export class InjectedFailureError extends SimulatorError {
  constructor(
    readonly faultId: string,
    readonly step: number,
    readonly idempotencyKey: string,
  ) {
    super('injected_failure', `remediation step ${step} failed (injected by fault ${faultId}; key ${idempotencyKey}): upstream API returned 500`);
  }
}

/** Thrown when commit or abort names a handle no prepare returned; nothing changed. */
export class UnknownPreparedError extends SimulatorError {
  constructor(readonly handle: string) {
    super('unknown_prepared', `no prepared action has handle "${handle}": prepare the action first`);
  }
}

/** Thrown when a prepared action may not be committed (expired, aborted, committed with another key); nothing changed. */
export class PreparedStateError extends SimulatorError {
  constructor(
    readonly handle: string,
    reason: string,
  ) {
    super('prepared_not_committable', `prepared action ${handle} ${reason}`);
  }
}

/** Thrown when what a prepared action depends on changed since prepare; nothing changed. */
export class PreparedStaleError extends SimulatorError {
  constructor(
    readonly handle: string,
    reason: string,
  ) {
    super('prepared_stale', `prepared action ${handle} is stale: ${reason}; prepare again`);
  }
}

/** Thrown when the action is already prepared (reserved), or a prepare key is reused with other arguments. */
export class PreparedConflictError extends SimulatorError {
  constructor(message: string) {
    super('prepared_conflict', message);
  }
}
