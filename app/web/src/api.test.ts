import { describe, expect, it, vi } from "vitest";
import {
  API_NOT_ROUTED_MESSAGE,
  ApiError,
  ApiNotRoutedError,
  apiKeyProblem,
  apiUrl,
  createPayment,
  getHealth,
  getReadiness,
  listPayments,
  newIdempotencyKey,
  validationErrors,
} from "./api";
import { edgeWithoutApi, fakeApi, json, TEST_API_KEY, UNKNOWN_API_KEY } from "./test/fakeApi";


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
    await listPayments(TEST_API_KEY);
    expect(api.requests[0]?.url).toBe("https://api.example.test/api/payments?limit=10");
  });

  it("reads the version from /api/healthz", async () => {
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "9.8.7" }) });
    await expect(getHealth()).resolves.toEqual({ status: "ok", version: "9.8.7", commit: null });
  });

  it("reads the commit the image was built from, and only a string", async () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "1.0.0", commit }) });
    await expect(getHealth()).resolves.toEqual({ status: "ok", version: "1.0.0", commit });
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "1.0.0", commit: 7 }) });
    await expect(getHealth()).resolves.toEqual({ status: "ok", version: "1.0.0", commit: null });
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
    const result = await createPayment({ amount_minor: 1, currency: "USD", merchant_reference: "r" }, "k", TEST_API_KEY);
    expect(result).toEqual({ kind: "network-error", detail: "network error: Failed to fetch" });
  });
});

describe("an /api that does not lead to the API (certificate mode 3)", () => {
  const newPayment = { amount_minor: 1, currency: "USD", merchant_reference: "r" };

  it("turns CloudFront's no-route answer into ApiNotRoutedError on health, readiness and the list", async () => {
    edgeWithoutApi();
    for (const call of [() => getHealth(), () => getReadiness(), () => listPayments(TEST_API_KEY)]) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiNotRoutedError);
      expect(error).toMatchObject({ status: 404, message: API_NOT_ROUTED_MESSAGE });
    }
  });

  it("turns it into a not-routed result on create", async () => {
    edgeWithoutApi();
    await expect(createPayment(newPayment, "k", TEST_API_KEY)).resolves.toEqual({
      kind: "not-routed",
      detail: API_NOT_ROUTED_MESSAGE,
    });
  });

  it("says what to do: certificate mode 1 or 2", () => {
    expect(API_NOT_ROUTED_MESSAGE).toMatch(/does not route the API through CloudFront \(certificate mode 3/);
    expect(API_NOT_ROUTED_MESSAGE).toMatch(/certificate mode 1 .* or mode 2 /);
  });

  it("counts a page served with 200 where the API's JSON should be (the app's index.html)", async () => {
    const page = () => new Response("<!doctype html><html></html>", { status: 200, headers: { "Content-Type": "text/html" } });
    fakeApi({ "GET /api/healthz": page, "GET /api/readyz": page });
    await expect(getHealth()).rejects.toBeInstanceOf(ApiNotRoutedError);
    await expect(getReadiness()).rejects.toBeInstanceOf(ApiNotRoutedError);
  });

  it("does not count the API's own errors nor CloudFront's error pages for a routed /api", async () => {
    fakeApi({
      "GET /api/healthz": () => new Response("<html>Bad Gateway</html>", { status: 502 }),
      "GET /api/readyz": () => new Response("<html>Request blocked</html>", { status: 403 }),
      "GET /api/payments": () => json(404, { detail: "Not Found" }),
    });
    await expect(getHealth()).rejects.toThrow(new ApiError("HTTP 502", 502));
    await expect(getHealth()).rejects.not.toBeInstanceOf(ApiNotRoutedError);
    await expect(getReadiness()).resolves.toEqual({ ready: false, reason: "HTTP 403" });
    await expect(listPayments(TEST_API_KEY)).rejects.not.toBeInstanceOf(ApiNotRoutedError);
    await expect(listPayments(TEST_API_KEY)).rejects.toThrow("Not Found (HTTP 404)");
  });
});

describe("API key", () => {
  const newPayment = { amount_minor: 1, currency: "USD", merchant_reference: "r" };

  it("sends the key as a Bearer token when listing payments", async () => {
    const api = fakeApi();
    await listPayments(TEST_API_KEY);
    expect(api.requests[0]?.headers.get("Authorization")).toBe(`Bearer ${TEST_API_KEY}`);
  });

  it("sends the key as a Bearer token when creating a payment", async () => {
    const api = fakeApi();
    await expect(createPayment(newPayment, "k", TEST_API_KEY)).resolves.toMatchObject({ kind: "created" });
    expect(api.posts()[0]?.headers.get("Authorization")).toBe(`Bearer ${TEST_API_KEY}`);
  });

  it("sends no Authorization header to the health routes", async () => {
    const api = fakeApi();
    await getHealth();
    await getReadiness();
    expect(api.requests.map((r) => [r.path, r.headers.has("Authorization")])).toEqual([
      ["/api/healthz", false],
      ["/api/readyz", false],
    ]);
  });

  it("puts the key in no URL", async () => {
    const api = fakeApi();
    await listPayments(TEST_API_KEY);
    await createPayment(newPayment, "k", TEST_API_KEY);
    expect(api.requests.filter((r) => r.url.includes(TEST_API_KEY))).toEqual([]);
  });

  it("turns a 401 on the list into an ApiError that says the key is missing, wrong or revoked", async () => {
    fakeApi();
    const failure = listPayments(UNKNOWN_API_KEY);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      status: 401,
      message: "API key missing, wrong or revoked (HTTP 401)",
    });
  });

  it("turns a 401 on create into an unauthorized result", async () => {
    fakeApi();
    await expect(createPayment(newPayment, "k", UNKNOWN_API_KEY)).resolves.toEqual({
      kind: "unauthorized",
      detail: "API key missing, wrong or revoked (HTTP 401)",
    });
  });

  it("accepts a key of visible ASCII characters and refuses an empty one or one with spaces", () => {
    expect(apiKeyProblem(TEST_API_KEY)).toBeNull();
    expect(apiKeyProblem("")).toMatch(/Paste an API key/);
    expect(apiKeyProblem("pay_0123 4567")).toMatch(/no spaces/);
    expect(apiKeyProblem("pay_ключ")).toMatch(/no spaces/);
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
  it("returns 26 lowercase letters, never a digit the API could read as a card number", () => {
    for (let i = 0; i < 200; i++) {
      expect(newIdempotencyKey()).toMatch(/^[a-z]{26}$/);
    }
  });

  it("draws every letter, each key anew", () => {
    const keys = Array.from({ length: 200 }, () => newIdempotencyKey());
    expect(new Set(keys).size).toBe(200);
    expect(new Set(keys.join("")).size).toBe(26);
  });

  it("drops the bytes that would favour some letters (234 and above)", () => {
    const real = globalThis.crypto;
    let calls = 0;
    vi.stubGlobal("crypto", {
      getRandomValues: <T extends ArrayBufferView>(array: T) => {
        calls += 1;
        // First draw: only bytes 234..255, all dropped; then a real draw.
        return calls === 1 ? (new Uint8Array(array.byteLength).fill(250) as unknown as T) : real.getRandomValues(array);
      },
    });
    expect(newIdempotencyKey()).toMatch(/^[a-z]{26}$/);
    expect(calls).toBeGreaterThan(1);
  });
});
