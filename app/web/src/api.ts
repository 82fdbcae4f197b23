// The one module that talks to the payments API. Components call these functions, never fetch.
//
// The API's types come from its OpenAPI document: src/api/openapi.json (written by
// app/api/scripts/export_openapi.py) and src/api/schema.d.ts (`npm run gen:types`). Neither is
// edited by hand; app/api's tests and `npm run check:types` fail when they drift from the API.
//
// Contract (FastAPI service in app/api, routed by CloudFront under /api/*):
//   GET  /api/healthz                -> 200 {"status":"ok","version":"0.1.0"}
//   GET  /api/readyz                 -> 200 {"status":"ready"} | 503 {"status":"unavailable","reason":"..."}
//   GET  /api/payments?limit=10      -> 200 {"data":[PaymentPublic...],"count":n,"next_after":string|null}
//   POST /api/payments               -> 201 PaymentPublic | 409 {"detail":"..."} | 422 {"detail":[{loc,msg,type}]}
//        headers: Idempotency-Key (26 letters), Content-Type: application/json
//   Every /api/payments call:           Authorization: Bearer <API key>; else 401 {"detail":"..."}
//   (health and readiness need no key)
// Where CloudFront has no /api/* route (certificate mode 3), its function on the default behaviour
// answers every /api path itself: 404 {"detail":"...","code":"api_not_routed"}
// (payments_infra/components/frontend/frontend.py). Each call turns that into ApiNotRoutedError.
//
// The API key is an argument of each payments call: the page holds it in React state only (see
// components/ApiKeyField.tsx), and nothing here stores it, logs it or puts it into a URL.

import type { components } from "./api/schema";

type Schemas = components["schemas"];

/** A payment as the API returns it. */
export type PaymentPublic = Schemas["PaymentPublic"];

/** One page of payments, newest first (GET /api/payments). */
export type PaymentPage = Schemas["PaymentsPublic"];

/** The body of GET /api/healthz. */
export type Health = Schemas["Liveness"];

/** What the page shows of GET /api/readyz: ready, or the reason it is not. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** The body of POST /api/payments. */
export type NewPayment = Schemas["PaymentCreate"];

export type PaymentField = keyof NewPayment;

export const PAYMENT_FIELDS: readonly PaymentField[] = ["amount_minor", "currency", "merchant_reference"];

/** Messages per form field, from a 422 response. */
export type FieldErrors = Partial<Record<PaymentField, string[]>>;

export type CreatePaymentResult =
  | { kind: "created"; payment: PaymentPublic }
  | { kind: "unauthorized"; detail: string }
  | { kind: "conflict"; detail: string }
  | { kind: "invalid"; fieldErrors: FieldErrors; otherErrors: string[] }
  | { kind: "failed"; status: number; detail: string }
  | { kind: "network-error"; detail: string }
  | { kind: "not-routed"; detail: string };

/** A response the page cannot use: an unexpected status or body, or no response at all. */
export class ApiError extends Error {
  /** HTTP status, or null when the request never got a response (network error). */
  readonly status: number | null;

  constructor(message: string, status: number | null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * The code in the answer CloudFront's function gives /api where the distribution has no /api/*
 * route (certificate mode 3): API_NOT_ROUTED_CODE in payments_infra/components/frontend/frontend.py.
 */
export const API_NOT_ROUTED_CODE = "api_not_routed";

/** What the page says when /api on its own origin does not lead to the API. */
export const API_NOT_ROUTED_MESSAGE =
  "This deployment does not route the API through CloudFront (certificate mode 3, self-signed: a demo), " +
  "so this page cannot reach it. For a working web app, deploy with certificate mode 1 " +
  "(payments:domainName and payments:hostedZoneId) or mode 2 (payments:certificateArn and payments:apiDomainName).";

/** /api answered, but not the API: CloudFront's "no /api route" answer, or a page in its place. */
export class ApiNotRoutedError extends ApiError {
  constructor(status: number) {
    super(API_NOT_ROUTED_MESSAGE, status);
    this.name = "ApiNotRoutedError";
  }
}

/**
 * What the page says when the API answers 401. The API gives the same answer for every reason
 * (no key, a malformed, unknown or wrong one, a revoked one) and so does the page.
 */
export const UNAUTHORIZED_MESSAGE = "API key missing, wrong or revoked";

/**
 * Why `key` (as typed or pasted, already trimmed) cannot be sent, or null when it can. Only what
 * would break the request is checked here (a header value is one run of visible ASCII
 * characters; anything else makes fetch throw): whether the key is valid is the API's call.
 */
export function apiKeyProblem(key: string): string | null {
  if (key === "") {
    return "Paste an API key.";
  }
  if (!/^[\x21-\x7e]+$/.test(key)) {
    return "An API key is one word of letters, digits, _ and - (pay_…): no spaces or other characters.";
  }
  return null;
}

/** VITE_API_BASE_URL without trailing slashes; "" means same origin. Read at call time. */
export function apiBaseUrl(): string {
  const configured = import.meta.env.VITE_API_BASE_URL ?? "";
  return configured.trim().replace(/\/+$/, "");
}

/** Absolute or same-origin URL of an API path such as "/api/healthz". */
export function apiUrl(path: string, base: string = apiBaseUrl()): string {
  if (!path.startsWith("/")) {
    throw new Error(`API paths start with "/"; got ${JSON.stringify(path)}`);
  }
  return `${base}${path}`;
}

// 26 letters of 26: about 122 random bits, as many as a UUID v4 has.
const KEY_LETTERS = "abcdefghijklmnopqrstuvwxyz";
const KEY_LENGTH = 26;

/**
 * A fresh Idempotency-Key: 26 random lowercase letters. No digit, so the API's card-number
 * rule (docs/security.md, "Which strings hold a card number") can never refuse it; a random
 * UUID holds a card-like digit run about once in 1,300 keys, and that payment would be refused.
 */
export function newIdempotencyKey(): string {
  const letters: string[] = [];
  while (letters.length < KEY_LENGTH) {
    for (const byte of globalThis.crypto.getRandomValues(new Uint8Array(KEY_LENGTH))) {
      // 234 = 9 x 26: bytes above it are dropped, so every letter is equally likely.
      if (byte < 234 && letters.length < KEY_LENGTH) {
        letters.push(KEY_LETTERS[byte % 26]!);
      }
    }
  }
  return letters.join("");
}

export async function getHealth(signal?: AbortSignal): Promise<Health> {
  const response = await send("/api/healthz", { method: "GET" }, signal);
  const { body, isJson } = await readBody(response);
  throwIfNotTheApi(response, body, isJson);
  if (!response.ok) {
    throw new ApiError(describeFailure(response.status, body), response.status);
  }
  if (!isRecord(body) || body.status !== "ok" || typeof body.version !== "string") {
    throw new ApiError("unexpected /api/healthz response", response.status);
  }
  // The commit the image was built from (null when the image does not say): what is deployed.
  const commit = typeof body.commit === "string" ? body.commit : null;
  return { status: body.status, version: body.version, commit };
}

export async function getReadiness(signal?: AbortSignal): Promise<Readiness> {
  const response = await send("/api/readyz", { method: "GET" }, signal);
  const { body, isJson } = await readBody(response);
  throwIfNotTheApi(response, body, isJson);
  if (response.ok) {
    return { ready: true };
  }
  if (response.status === 503 && isRecord(body) && typeof body.reason === "string" && body.reason) {
    return { ready: false, reason: body.reason };
  }
  return { ready: false, reason: describeFailure(response.status, body) };
}

/** GET /api/payments with the client's API key: that client's newest payments. */
export async function listPayments(apiKey: string, limit = 10, signal?: AbortSignal): Promise<PaymentPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  const response = await send(
    `/api/payments?${query.toString()}`,
    { method: "GET", headers: authorization(apiKey) },
    signal,
  );
  const { body, isJson } = await readBody(response);
  throwIfNotTheApi(response, body, isJson);
  if (response.status === 401) {
    throw new ApiError(`${UNAUTHORIZED_MESSAGE} (HTTP 401)`, 401);
  }
  if (!response.ok) {
    throw new ApiError(describeFailure(response.status, body), response.status);
  }
  if (!isRecord(body) || !Array.isArray(body.data) || !body.data.every(isPayment)) {
    throw new ApiError("unexpected /api/payments response", response.status);
  }
  return {
    data: body.data,
    count: typeof body.count === "number" ? body.count : body.data.length,
    next_after: typeof body.next_after === "string" ? body.next_after : null,
  };
}

/**
 * POST /api/payments with the client's API key. Never throws for an HTTP or network failure
 * (only when `signal` aborts): every outcome is a CreatePaymentResult the form can show.
 */
export async function createPayment(
  payment: NewPayment,
  idempotencyKey: string,
  apiKey: string,
  signal?: AbortSignal,
): Promise<CreatePaymentResult> {
  let response: Response;
  try {
    response = await send("/api/payments", {
      method: "POST",
      headers: {
        ...authorization(apiKey),
        "Content-Type": "application/json",
        "Idempotency-Key": idempotencyKey,
      },
      body: JSON.stringify({
        amount_minor: payment.amount_minor,
        currency: payment.currency,
        merchant_reference: payment.merchant_reference,
      }),
    }, signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === null) {
      return { kind: "network-error", detail: error.message };
    }
    throw error;
  }
  const { body, isJson } = await readBody(response);
  if (notTheApi(response, body, isJson)) {
    return { kind: "not-routed", detail: API_NOT_ROUTED_MESSAGE };
  }
  if (response.ok && isPayment(body)) {
    return { kind: "created", payment: body };
  }
  if (response.status === 401) {
    return { kind: "unauthorized", detail: `${UNAUTHORIZED_MESSAGE} (HTTP 401)` };
  }
  if (response.status === 409) {
    return { kind: "conflict", detail: detailText(body) ?? "conflict (HTTP 409)" };
  }
  if (response.status === 422) {
    return { kind: "invalid", ...validationErrors(body) };
  }
  return { kind: "failed", status: response.status, detail: describeFailure(response.status, body) };
}

/** Split FastAPI's 422 `detail` list into messages per form field and the rest. */
export function validationErrors(body: unknown): { fieldErrors: FieldErrors; otherErrors: string[] } {
  const fieldErrors: FieldErrors = {};
  const otherErrors: string[] = [];
  const detail = isRecord(body) ? body.detail : undefined;
  if (!Array.isArray(detail)) {
    otherErrors.push(detailText(body) ?? "the API rejected the payment (HTTP 422)");
    return { fieldErrors, otherErrors };
  }
  for (const item of detail) {
    const msg = isRecord(item) && typeof item.msg === "string" ? item.msg : JSON.stringify(item);
    const loc = isRecord(item) && Array.isArray(item.loc) ? item.loc : [];
    const last = loc[loc.length - 1];
    const field = PAYMENT_FIELDS.find((f) => f === last);
    if (loc[0] === "body" && loc.length === 2 && field) {
      (fieldErrors[field] ??= []).push(msg);
    } else {
      otherErrors.push(loc.length > 0 ? `${loc.join(".")}: ${msg}` : msg);
    }
  }
  return { fieldErrors, otherErrors };
}

/** The Authorization header of a payments call. */
function authorization(apiKey: string): Record<string, string> {
  return { Authorization: `Bearer ${apiKey}` };
}

async function send(path: string, init: Omit<RequestInit, "signal">, signal?: AbortSignal): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  try {
    return await fetch(apiUrl(path), { ...init, headers, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) {
      throw error;
    }
    const reason = error instanceof Error && error.message ? error.message : String(error);
    throw new ApiError(`network error: ${reason}`, null);
  }
}

/** The body's JSON; `body` undefined and `isJson` false when it is empty or not JSON. */
async function readBody(response: Response): Promise<{ body: unknown; isJson: boolean }> {
  const text = await response.text();
  if (!text) {
    return { body: undefined, isJson: false };
  }
  try {
    return { body: JSON.parse(text) as unknown, isJson: true };
  } catch {
    return { body: undefined, isJson: false }; // e.g. an HTML page from a proxy or CloudFront
  }
}

/**
 * Whether /api answered with something other than the API: the CloudFront Function's answer for a
 * distribution without an /api/* route, or a success that is not JSON (index.html where the
 * API's JSON should be, as a distribution deployed before that function answered /api serves).
 * An error page that is not JSON does not count: CloudFront's own 403 (WAF) or 502/504 (the ALB
 * down) come from a distribution that does route /api.
 */
function notTheApi(response: Response, body: unknown, isJson: boolean): boolean {
  if (isRecord(body) && body.code === API_NOT_ROUTED_CODE) {
    return true;
  }
  return response.ok && !isJson;
}

function throwIfNotTheApi(response: Response, body: unknown, isJson: boolean): void {
  if (notTheApi(response, body, isJson)) {
    throw new ApiNotRoutedError(response.status);
  }
}

function detailText(body: unknown): string | null {
  if (!isRecord(body)) {
    return null;
  }
  if (typeof body.detail === "string" && body.detail) {
    return body.detail;
  }
  return null;
}

function describeFailure(status: number, body: unknown): string {
  const detail = detailText(body);
  return detail ? `${detail} (HTTP ${status})` : `HTTP ${status}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPayment(value: unknown): value is PaymentPublic {
  return (
    isRecord(value) &&
    typeof value.id === "string" &&
    typeof value.amount_minor === "number" &&
    typeof value.currency === "string" &&
    typeof value.merchant_reference === "string" &&
    value.status === "created" &&
    typeof value.created_at === "string"
  );
}
