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

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
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

/**
 * Stubs global fetch with a tiny in-memory payments API: healthy and ready, an empty list, and
 * POST /api/payments storing the payment (newest first). `routes` ("METHOD /path") override it.
 * Every answer arrives NETWORK_DELAY_MS after the request.
 */
export function fakeApi(routes: Record<string, Handler> = {}) {
  const stored: PaymentPublic[] = [];
  const requests: RecordedRequest[] = [];
  const defaults: Record<string, Handler> = {
    "GET /api/healthz": () => json(200, { status: "ok", version: "0.1.0" }),
    "GET /api/readyz": () => json(200, { status: "ready" }),
    "GET /api/payments": () => json(200, { data: stored.slice(0, 10), count: stored.length, next_after: null }),
    "POST /api/payments": (request) => {
      const body = request.body as Pick<PaymentPublic, "amount_minor" | "currency" | "merchant_reference">;
      const created = payment({ ...body, id: `pay_${String(stored.length + 1).padStart(4, "0")}` });
      stored.unshift(created);
      return json(201, created);
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
    const handler = routes[`${method} ${path}`] ?? defaults[`${method} ${path}`];
    if (!handler) {
      return json(404, { detail: "Not Found" });
    }
    return handler(request);
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    fetch: fetchMock,
    requests,
    stored,
    /** The POSTs to /api/payments, in order. */
    posts: () => requests.filter((r) => r.method === "POST" && r.path === "/api/payments"),
  };
}
