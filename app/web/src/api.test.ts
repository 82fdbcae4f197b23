import { describe, expect, it, vi } from "vitest";
import {
  apiUrl,
  createPayment,
  getHealth,
  getReadiness,
  listPayments,
  newIdempotencyKey,
  validationErrors,
} from "./api";
import { fakeApi, json } from "./test/fakeApi";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("apiUrl", () => {
  it("builds a same-origin path when VITE_API_BASE_URL is not set", () => {
    vi.stubEnv("VITE_API_BASE_URL", undefined);
    expect(apiUrl("/api/healthz")).toBe("/api/healthz");
  });

  it("builds a same-origin path when VITE_API_BASE_URL is empty", () => {
    vi.stubEnv("VITE_API_BASE_URL", "");
    expect(apiUrl("/api/readyz")).toBe("/api/readyz");
  });

  it("prefixes the path with VITE_API_BASE_URL and drops its trailing slash", () => {
    vi.stubEnv("VITE_API_BASE_URL", "https://api.example.test/");
    expect(apiUrl("/api/healthz")).toBe("https://api.example.test/api/healthz");
  });

  it("rejects a path without a leading slash", () => {
    expect(() => apiUrl("api/healthz", "")).toThrow(/start with "\/"/);
  });
});

describe("requests", () => {
  it("sends list requests to VITE_API_BASE_URL with limit=10", async () => {
    vi.stubEnv("VITE_API_BASE_URL", "https://api.example.test");
    const api = fakeApi();
    await listPayments();
    expect(api.requests[0]?.url).toBe("https://api.example.test/api/payments?limit=10");
  });

  it("reads the version from /api/healthz", async () => {
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "9.8.7" }) });
    await expect(getHealth()).resolves.toEqual({ status: "ok", version: "9.8.7" });
  });

  it("reports the reason a 503 from /api/readyz gives", async () => {
    fakeApi({ "GET /api/readyz": () => json(503, { status: "unavailable", reason: "database unreachable" }) });
    await expect(getReadiness()).resolves.toEqual({ ready: false, reason: "database unreachable" });
  });

  it("reports the HTTP status when /api/readyz answers with a non-JSON error page", async () => {
    fakeApi({ "GET /api/readyz": () => new Response("<html>Bad Gateway</html>", { status: 502 }) });
    await expect(getReadiness()).resolves.toEqual({ ready: false, reason: "HTTP 502" });
  });

  it("turns a fetch rejection on POST into a network-error result", async () => {
    fakeApi({
      "POST /api/payments": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const result = await createPayment({ amount_minor: 1, currency: "USD", merchant_reference: "r" }, "k");
    expect(result).toEqual({ kind: "network-error", detail: "network error: Failed to fetch" });
  });
});

describe("validationErrors", () => {
  it("files body field errors under their field and everything else under other errors", () => {
    const result = validationErrors({
      detail: [
        { loc: ["body", "amount_minor"], msg: "Input should be greater than 0", type: "greater_than" },
        { loc: ["header", "idempotency-key"], msg: "Field required", type: "missing" },
      ],
    });
    expect(result).toEqual({
      fieldErrors: { amount_minor: ["Input should be greater than 0"] },
      otherErrors: ["header.idempotency-key: Field required"],
    });
  });
});

describe("newIdempotencyKey", () => {
  it("returns a version 4 UUID", () => {
    expect(newIdempotencyKey()).toMatch(UUID_V4);
  });

  it("builds a version 4 UUID from getRandomValues where randomUUID is missing (plain http)", () => {
    const real = globalThis.crypto;
    vi.stubGlobal("crypto", { getRandomValues: <T extends ArrayBufferView>(array: T) => real.getRandomValues(array) });
    expect(newIdempotencyKey()).toMatch(UUID_V4);
  });
});
