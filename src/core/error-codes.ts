/**
 * Every error code the gateway gives an error it throws, logs or answers with, and what it means. A code
 * is stable: scripts, alerts and runbooks match on it while the wording of the message may change (as
 * fastify's FST_ERR_* codes). docs/errors.md is rendered from this table (`npm run docs`), and a test
 * checks that every code used in the source is listed here and every listed code is used.
 */
export const ERROR_CODES = {
  // Configuration and the command line
  GS_CONFIG_INVALID: {
    meaning: 'The configuration failed validation; each problem is printed with its file:line and key path.',
    action: 'Fix the keys named; `gophership validate --config ...` checks a config without starting.',
  },
  GS_CLI_USAGE: {
    meaning:
      "The command line names a command or option the CLI does not know, misses an option's value, or gives a value the command cannot use (a duration, a number, an address).",
    action: 'Correct the command or option named in the message; `gophership --help` lists them.',
  },
  GS_FILE_UNREADABLE: {
    meaning: 'A file the configuration names (a certificate, key, token file, htpasswd file, CA bundle) cannot be read.',
    action: 'Check the path and that the gateway user may read the file.',
  },
  GS_TLS_INVALID: {
    meaning: 'A certificate or key was read but cannot be used (not PEM, or the key does not belong to the certificate).',
    action: 'Check that key_file is the private key of cert_file, both PEM.',
  },
  GS_EXTENSION_MISSING: {
    meaning: 'An `auth.authenticator` names an extension that is not running, or one that cannot authenticate that way.',
    action: 'Define the extension under `extensions:`, list it in `service.extensions`, and use a kind that fits (server or client).',
  },
  // Starting and running components
  GS_COMPONENT_START_FAILED: {
    meaning: 'A component could not start (open a file or a WAL directory, connect to a server); the gateway does not start.',
    action: 'Read the cause after the component name; fix it and start again.',
  },
  GS_LISTEN_FAILED: {
    meaning: 'A receiver or the telemetry server cannot listen on its endpoint (in use, not permitted, not an address of this host).',
    action: 'Choose a free endpoint, or stop what holds it.',
  },
  GS_COMPONENT_FAILED: {
    meaning: 'A running component failed in a way it cannot recover from (a listener died, a consumer stopped); the gateway shuts down.',
    action: 'Read the cause in the log line; restart once it is fixed (what was acknowledged is kept in the WALs).',
  },
  GS_COMPONENT_STOPPED: {
    meaning: 'The component is shutting down or not started; the request was not taken.',
    action: 'Retry: the client gets a retryable refusal, and another instance (or this one, restarted) takes it.',
  },
  // Refusals a client sees
  GS_REQUEST_MALFORMED: {
    meaning: 'The request body is not a valid OTLP message of its signal (bad protobuf wire format, bad JSON, invalid UTF-8 in a string).',
    action: "Fix the client's encoding; the message names the field path at fault. Not retryable.",
  },
  GS_UNAUTHENTICATED: {
    meaning: "The request's credentials are missing or not accepted by the receiver's authenticator.",
    action: 'Send valid credentials; the message says what was wrong without repeating them.',
  },
  GS_AUTH_BUSY: {
    meaning:
      'The credentials were not checked: too many slow password checks (bcrypt, SHA-crypt) were waiting, in all or for this user (e.g. under a flood of wrong passwords), or the threads that run them keep failing.',
    action:
      'Retry after the Retry-After (HTTP) or RetryInfo (gRPC) delay; if it persists, look for a client sending wrong passwords (gophership_receiver_unauthenticated_requests).',
  },
  GS_AUTH_TOKEN_UNAVAILABLE: {
    meaning: "An exporter's oauth2client extension holds no valid token: the authorization server has not answered yet, or refused the client's credentials.",
    action: "The export is retried under retry_on_failure; check token_url, client_id and client_secret (the message carries the server's last answer).",
  },
  GS_RETRY_LATER: {
    meaning: 'A retryable refusal with no more specific code: the data was not accepted this time.',
    action: 'Retry after the Retry-After (HTTP) or RetryInfo (gRPC) delay.',
  },
  GS_DATA_REFUSED: {
    meaning: 'A permanent refusal with no more specific code: this data will never be accepted as it is.',
    action: 'Do not retry the same data; the message says why.',
  },
  GS_MEMORY_LIMIT: {
    meaning: 'The memory_limiter processor refused the request: memory in use is over its soft limit.',
    action: 'Retry later; raise the limit or add capacity if it persists.',
  },
  GS_OVERLOADED: {
    meaning: 'Somatic backpressure refused the request: the gateway is in Red and its somatic WAL has no room for it.',
    action: 'Retry after the delay given; the WAL frees room as its debt is replayed downstream.',
  },
  GS_QUEUE_FULL: {
    meaning: "An exporter's sending queue is full: the downstream is slower than the input, or unavailable.",
    action: 'Retry later; fix the downstream, or raise sending_queue.queue_size / num_consumers.',
  },
  // Durable storage (WAL)
  GS_WAL_FULL: {
    meaning: "A WAL (somatic debt or an exporter's persistent queue) is at its disk budget, or its volume is nearly full.",
    action: 'Retry later: space is freed as records are acknowledged; raise max_size_mib / max_size_bytes, or free the volume.',
  },
  GS_WAL_RECORD_TOO_LARGE: {
    meaning: "A record is larger than the WAL's whole budget and can never be stored.",
    action: 'Raise the WAL budget or send smaller requests. Not retryable.',
  },
  GS_WAL_IO: {
    meaning: 'A WAL write, fsync or cut-back failed on the disk.',
    action: 'Check the disk and its kernel log; appends are refused (retryable) until writing works again.',
  },
  GS_WAL_IN_USE: {
    meaning: 'A WAL directory is already in use by this process or another gateway.',
    action: 'Give each WAL its own directory (one per exporter or pipeline, one per gateway).',
  },
  GS_WAL_MISUSE: {
    meaning: 'A WAL was opened or called with an option or argument out of range: a bug in the gateway, not a config problem (config keys are checked first).',
    action: 'Report it with the message, which names the option.',
  },
  // Processing and exporting
  GS_PROCESSOR_FAILED: {
    meaning: 'A processor or connector could not process the request (a condition or statement failed to evaluate, the request could not be read).',
    action: 'Read the message (it names the processor and statement); check error_mode.',
  },
  GS_WORKER_FAILED: {
    meaning: 'A worker thread editing the request stopped before it answered.',
    action: 'Retry the request; the log says why the worker stopped.',
  },
  GS_EXPORTER_SEND_FAILED: {
    meaning: 'An export attempt failed in a way worth retrying (connection refused or reset, downstream unavailable or throttling, timeout).',
    action: 'The exporter retries under retry_on_failure; check the downstream if it persists.',
  },
  GS_EXPORTER_REJECTED: {
    meaning: 'The downstream refused the data permanently (HTTP 400, gRPC INVALID_ARGUMENT, ...), or the exporter cannot send it at all.',
    action: 'The data is dropped (or written to dead_letter); the message carries the downstream answer.',
  },
} as const satisfies Record<string, { meaning: string; action: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
