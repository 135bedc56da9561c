/**
 * Every error the ingest server can answer with: a stable string code, its HTTP
 * status and one line saying when it happens. Codes are part of the API; a test
 * checks each one is documented in GENERIC-FORMAT.md.
 *
 * Body of every error response: `{ "error": { "code": "...", "message": "..." } }`
 * (400 validation errors add `issues: [{ path, message }]`).
 */

export interface ErrorDefinition {
  readonly status: number;
  readonly doc: string;
}

export const INGEST_ERRORS = {
  VIGIL_INVALID_JSON: {
    status: 400,
    doc: 'The body is empty or not valid JSON.',
  },
  VIGIL_INVALID_PAYLOAD: {
    status: 400,
    doc: 'The JSON does not match the route\'s format; the message names each bad field (e.g. `alerts[0].startsAt: ...`). Do not retry.',
  },
  VIGIL_UNAUTHORIZED: {
    status: 401,
    doc: 'Auth is configured and the request has neither a valid bearer token nor a valid X-Vigil-Signature. Nothing was delivered.',
  },
  VIGIL_NOT_FOUND: {
    status: 404,
    doc: 'No such route.',
  },
  VIGIL_METHOD_NOT_ALLOWED: {
    status: 405,
    doc: 'The route exists but not for this method; the Allow header lists the methods it takes.',
  },
  VIGIL_BODY_TOO_LARGE: {
    status: 413,
    doc: 'The body is larger than the configured limit (maxBodyBytes, 1 MiB by default). Reading stops at the limit.',
  },
  VIGIL_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    doc: 'Content-Type is set and is not JSON (application/json or application/*+json), or Content-Encoding is not identity.',
  },
  VIGIL_INTERNAL_ERROR: {
    status: 500,
    doc: 'A bug in vigil; details are in the server log under the request id.',
  },
  VIGIL_BACKEND_UNAVAILABLE: {
    status: 503,
    doc: 'The orchestrator backend (Temporal) is unreachable, or /readyz found it not ready. Nothing was delivered; retry later.',
  },
  VIGIL_DELIVERY_FAILED: {
    status: 503,
    doc: 'Handing the alerts to the backend failed for another reason. Nothing is half-applied: retry the same request (delivery is idempotent).',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type IngestErrorCode = keyof typeof INGEST_ERRORS;

export const INGEST_ERROR_CODES = Object.keys(INGEST_ERRORS) as IngestErrorCode[];

/** One field-level problem in a rejected payload. */
export interface PayloadIssue {
  /** Where, e.g. `alerts[0].startsAt` (`body` for the document itself). */
  path: string;
  message: string;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  error: { code: IngestErrorCode; message: string; issues?: PayloadIssue[] };
}

/** Raised inside the request pipeline; the server turns it into the response. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly status: number;
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly issues?: PayloadIssue[],
    /** Extra response headers (Allow, WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = INGEST_ERRORS[code].status;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues && this.issues.length > 0 ? { issues: this.issues } : {}),
      },
    };
  }
}
