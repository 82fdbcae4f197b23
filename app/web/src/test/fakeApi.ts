import { vi } from "vitest";
import type { PaymentPublic } from "../api";

/** One request as the stubbed fetch saw it. */
export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  headers: Headers;
  body: unknown;
}

/** Returns a Response, or throws (like fetch does on a network error). */
export type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** A key the fake API accepts (the shape of the real ones: `pay_<12 hex>_<43 urlsafe base64>`). */
export const TEST_API_KEY = "pay_0123456789ab_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_";
/** Another client's key, also accepted by default. */
export const OTHER_API_KEY = "pay_ba9876543210_ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponml0_";
/** A key of the right shape that the fake API does not know: the API answers 401. */
export const UNKNOWN_API_KEY = "pay_ffffffffffff_0000000000000000000000000000000000000000000";

/** The real API's 401, for a missing, malformed, unknown, wrong or revoked key alike. */
export function unauthorized(): Response {
  return json(401, { detail: "a valid API key is required" }, { "WWW-Authenticate": 'Bearer realm="payments"' });
}

export function payment(overrides: Partial<PaymentPublic> = {}): PaymentPublic {
  return {
    id: "pay_0001",
    amount_minor: 1234,
    currency: "USD",
    merchant_reference: "order-1",
    status: "created",
    created_at: "2026-01-02T15:04:05Z",
    ...overrides,
  };
}

/**
 * How long the fake network takes to answer. A fetch that resolved at once (in the same task)
 * would let a test pass that asserts before the component has rendered the answer; answering a
 * little later, like a real network, makes such a test fail on every run instead of now and then
 * (`findByTestId(...)` followed by `toHaveTextContent(...)` is the classic case: wait for the text
 * itself with `findByText` or `waitFor`). The request is recorded before the delay, when the
 * component makes it.
 */
export const NETWORK_DELAY_MS = 20;

/** The client a request's `Authorization: Bearer <key>` names, or null (the API answers 401). */
function clientOf(request: RecordedRequest, keys: Record<string, string>): string | null {
  const match = /^Bearer ([^ ]+)$/.exec(request.headers.get("Authorization") ?? "");
  return match && Object.hasOwn(keys, match[1]!) ? keys[match[1]!]! : null;
}

/**
 * Stubs global fetch with a tiny in-memory payments API: healthy and ready, an empty list, and
 * POST /api/payments storing the payment (newest first). `routes` ("METHOD /path") override it.
 * Every answer arrives NETWORK_DELAY_MS after the request.
 *
 * Like the real API, every /api/payments route first checks `Authorization: Bearer <key>`
 * against `keys` (key -> client; default TEST_API_KEY and OTHER_API_KEY, two clients) and
 * answers 401 otherwise, before any route override runs. Each client sees only its own payments;
 * `stored` is TEST_API_KEY's client's list. Health routes need no key.
 */
export function fakeApi(
  routes: Record<string, Handler> = {},
  keys: Record<string, string> = { [TEST_API_KEY]: "client-a", [OTHER_API_KEY]: "client-b" },
) {
  const byClient = new Map<string, PaymentPublic[]>();
  const storedFor = (client: string) => {
    let list = byClient.get(client);
    if (!list) {
      list = [];
      byClient.set(client, list);
    }
    return list;
  };
  const stored = storedFor(keys[TEST_API_KEY] ?? "client-a");
  let created = 0;
  const requests: RecordedRequest[] = [];
  const defaults: Record<string, (request: RecordedRequest, client: string) => Response> = {
    "GET /api/healthz": () => json(200, { status: "ok", version: "0.1.0" }),
    "GET /api/readyz": () => json(200, { status: "ready" }),
    "GET /api/payments": (_request, client) => {
      const list = storedFor(client);
      return json(200, { data: list.slice(0, 10), count: Math.min(list.length, 10), next_after: null });
    },
    "POST /api/payments": (request, client) => {
      const body = request.body as Pick<PaymentPublic, "amount_minor" | "currency" | "merchant_reference">;
      created += 1;
      const made = payment({ ...body, id: `pay_${String(created).padStart(4, "0")}` });
      storedFor(client).unshift(made);
      return json(201, made);
    },
  };
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? "GET").toUpperCase();
    const path = new URL(url, "http://page.test").pathname;
    const request: RecordedRequest = {
      method,
      url,
      path,
      headers: new Headers(init.headers),
      body: typeof init.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    };
    requests.push(request);
    await new Promise((resolve) => setTimeout(resolve, NETWORK_DELAY_MS));
    const client = clientOf(request, keys);
    if ((path === "/api/payments" || path.startsWith("/api/payments/")) && client === null) {
      return unauthorized();
    }
    const route = `${method} ${path}`;
    const override = routes[route];
    if (override) {
      return override(request);
    }
    const handler = defaults[route];
    if (!handler) {
      return json(404, { detail: "Not Found" });
    }
    return handler(request, client ?? "");
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    fetch: fetchMock,
    requests,
    stored,
    /** The POSTs to /api/payments, in order. */
    posts: () => requests.filter((r) => r.method === "POST" && r.path === "/api/payments"),
    /** Every request to /api/payments (list and create), in order. */
    paymentCalls: () => requests.filter((r) => r.path === "/api/payments" || r.path.startsWith("/api/payments/")),
  };
}

/**
 * The answer CloudFront's function gives every /api path where the distribution has no /api/*
 * route (certificate mode 3): API_NOT_ROUTED_BODY in payments_infra/components/frontend/frontend.py.
 */
export function notRouted(): Response {
  return json(
    404,
    {
      detail:
        "This deployment does not route /api through CloudFront (certificate mode 3, self-signed: a demo), " +
        "so the web app cannot reach the API; it answers only at the ALB's own address (curl, or the live " +
        "tests). For a working web app, deploy with certificate mode 1 or 2.",
      code: "api_not_routed",
    },
    { "Cache-Control": "no-store" },
  );
}

/**
 * Stubs global fetch with a certificate mode 3 distribution: no API behind /api, every request
 * answered by notRouted(), NETWORK_DELAY_MS after it is made. Returns the requests it saw.
 */
export function edgeWithoutApi() {
  const requests: string[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    requests.push(`${(init.method ?? "GET").toUpperCase()} ${new URL(url, "http://page.test").pathname}`);
    await new Promise((resolve) => setTimeout(resolve, NETWORK_DELAY_MS));
    return notRouted();
  });
  vi.stubGlobal("fetch", fetchMock);
  return { requests };
}
