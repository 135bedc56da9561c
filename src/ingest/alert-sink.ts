/**
 * The seam between ingest and the orchestrator: ingest validates and groups alerts,
 * then hands every batch of one request to an AlertSink in a single call.
 * The Temporal implementation (signalWithStart per group) lives outside this folder.
 */
import type { AlertBatch } from '../schemas/alert.js';

/** What the sink reports for one delivered batch. */
export interface DeliveredBatch {
  /** The incident (workflow) the batch went to. */
  incidentId: string;
  /** The batch's group key, as given. */
  groupKey: string;
  /** Fingerprints of the batch's alerts. */
  fingerprints: string[];
  /** Who named the incident: the group itself, or its routing lease (the Temporal sink). */
  via?: 'group' | 'lease';
}

/** Where accepted alerts go. The Temporal implementation (signalWithStart per group) is written by the lead. */
export interface AlertSink {
  /**
   * Durably hand every batch over, or throw. Returns the incident id each batch went to.
   * Called once per request with all of its batches; must be idempotent per `deliveryId`
   * (senders retry, and a retried request carries the same delivery ids).
   */
  deliver(batches: AlertBatch[]): Promise<DeliveredBatch[]>;
  /** True when the backend (Temporal) is reachable. */
  ready(): Promise<boolean>;
  /** Stops background work (the Temporal sink's lease renewals); the server calls it on close. */
  close?(): Promise<void>;
}

/**
 * Thrown by a sink when the backend is unreachable: the server answers 503
 * (VIGIL_BACKEND_UNAVAILABLE) so the sender retries.
 */
export class SinkUnavailableError extends Error {
  override readonly name = 'SinkUnavailableError';
  constructor(message = 'alert backend unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
