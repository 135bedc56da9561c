/** Alert ingest: HTTP server, payload schemas, grouping, auth, metrics. */
export { SinkUnavailableError, type AlertSink, type DeliveredBatch } from './alert-sink.js';
export {
  AlertmanagerAlert,
  AlertmanagerWebhook,
  AlertStatus,
  KeyValues,
  Rfc3339,
  isZeroTime,
  normalizeAlertmanager,
} from './alertmanager-schema.js';
export {
  GenericAlert,
  GenericAlertEnvelope,
  GenericAlertList,
  GenericPayload,
  labelsFingerprint,
  normalizeGeneric,
  parseGenericPayload,
} from './generic-schema.js';
export {
  DEFAULT_GENERIC_GROUP_BY,
  deliveryIdFor,
  groupAlertmanagerAlerts,
  groupGenericAlerts,
  groupLabelValue,
  labelGroupKey,
} from './grouping.js';
export {
  INGEST_ERRORS,
  INGEST_ERROR_CODES,
  IngestError,
  type ErrorBody,
  type ErrorDefinition,
  type IngestErrorCode,
  type PayloadIssue,
} from './errors.js';
export { formatPath, issuesMessage, payloadErrorMap, toPayloadIssues } from './format-issues.js';
export {
  IngestAuthConfig,
  SIGNATURE_HEADER,
  createAuthenticator,
  signBody,
  type Authenticator,
  type HeaderCheck,
  type IngestAuthConfigInput,
} from './auth.js';
export {
  DEFAULT_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  type Counter,
  type Histogram,
  type HistogramOptions,
  type LabelValues,
  type MetricOptions,
} from './metrics.js';
export { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
export { DEFAULT_MAX_BODY_BYTES, IngestConfig, type IngestConfigInput } from './config.js';
export { checkDeclaredLength, readBody } from './read-body.js';
export { createMemorySink, incidentIdForGroup, type MemorySink } from './memory-sink.js';
export {
  INGEST_REDACT_PATHS,
  createIngestServer,
  isJsonContentType,
  type AcceptedBody,
  type IngestServer,
  type IngestServerOptions,
} from './server.js';
