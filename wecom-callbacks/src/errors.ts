// Typed errors of the WeCom package. Callers match on `code` / `errcode`, never on message text
// (SPEC.md §0: "Clients must match on errcode only; never parse errmsg").

/** Base class: every error thrown by @oa/wecom is a WecomError with a stable `code`. */
export class WecomError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A WeCom API answered with a non-zero errcode that the client does not (or no longer) retry (R20.0, issue 6 item 1). */
export class WecomApiError extends WecomError {
  constructor(
    readonly path: string,
    readonly errcode: number,
    readonly errmsg: string,
    /** The whole JSON body (e.g. 81013 may carry `invaliduser`). */
    readonly body: Record<string, unknown> = {},
  ) {
    super(`WeCom ${path} failed: errcode ${errcode} ${errmsg}`, 'api_error');
  }

  /** errcode 40001/40014/42001: the access token (or the secret) is bad. */
  get isTokenError(): boolean {
    return TOKEN_ERRCODES.has(this.errcode);
  }
}

/** Network failure, timeout, non-200 HTTP status or a body that is not JSON. */
export class WecomTransportError extends WecomError {
  constructor(
    readonly path: string,
    message: string,
    readonly status?: number,
  ) {
    super(`WeCom ${path}: ${message}`, 'transport_error');
  }
}

/** Codes of the official crypto libraries (SPEC.md §2.4), reused as the callback error taxonomy. */
export const CRYPTO_ERRORS = {
  ValidateSignatureError: -40001,
  ParseXmlError: -40002,
  ComputeSignatureError: -40003,
  IllegalAesKey: -40004,
  ValidateCorpidError: -40005,
  EncryptAESError: -40006,
  DecryptAESError: -40007,
  IllegalBuffer: -40008,
  EncodeBase64Error: -40009,
  DecodeBase64Error: -40010,
  GenReturnXmlError: -40011,
} as const;

export type CallbackErrorCode =
  | 'missing_parameter'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'wrong_receiver'
  | 'decrypt_failed'
  | 'bad_xml'
  | 'xml_forbidden'
  | 'body_too_large';

/**
 * A callback request that must be refused. `httpStatus` is what the route answers:
 * 401 for anything that fails authentication (signature, receive id, replay window) and
 * changes nothing (S1 integrity, issue 6 item 2), 400 for malformed input, 413 for an oversized body.
 */
export class WecomCallbackError extends WecomError {
  constructor(
    code: CallbackErrorCode,
    readonly cryptoCode: number,
    readonly httpStatus: 400 | 401 | 413,
    message: string,
  ) {
    super(message, code);
  }
  declare readonly code: CallbackErrorCode;
}

/** errcodes after which the client drops the cached token, refreshes once and retries (SPEC.md §1, §8.2). */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);
