import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { API_NOT_ROUTED_MESSAGE } from "../api";
import {
  edgeWithoutApi,
  fakeApi,
  json,
  OTHER_API_KEY,
  payment,
  TEST_API_KEY,
  UNKNOWN_API_KEY,
} from "../test/fakeApi";
import { PaymentList } from "./PaymentList";

function listOf(...payments: ReturnType<typeof payment>[]) {
  return () => json(200, { data: payments, count: payments.length, next_after: null });
}

describe("PaymentList", () => {
  it("asks the API for the 10 most recent payments", async () => {
    const api = fakeApi();
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    expect(api.requests).toHaveLength(1); // made in the effect, before any answer
    await screen.findByText("No payments yet.");
    expect(api.requests.map((r) => r.url)).toEqual(["/api/payments?limit=10"]);
  });

  it("renders one row per payment in the order the API gives (newest first)", async () => {
    fakeApi({
      "GET /api/payments": listOf(
        payment({ id: "pay_b", merchant_reference: "newer" }),
        payment({ id: "pay_a", merchant_reference: "older" }),
      ),
    });
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    const rows = await screen.findAllByTestId("payment-row");
    expect(rows.map((row) => within(row).getByText(/newer|older/).textContent)).toEqual(["newer", "older"]);
  });

  it("shows each payment's reference, id and creation time", async () => {
    fakeApi({
      "GET /api/payments": listOf(
        payment({ id: "pay_42", merchant_reference: "order-42", created_at: "2026-01-02T15:04:05Z" }),
      ),
    });
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    const [row] = await screen.findAllByTestId("payment-row");
    expect(row).toHaveTextContent("order-42");
    expect(row).toHaveTextContent("pay_42");
    expect(row!.querySelector("time")).toHaveAttribute("datetime", "2026-01-02T15:04:05Z");
  });

  it("formats amounts with each currency's own number of decimals", async () => {
    fakeApi({
      "GET /api/payments": listOf(
        payment({ id: "p1", amount_minor: 1234, currency: "USD" }),
        payment({ id: "p2", amount_minor: 500, currency: "JPY" }),
        payment({ id: "p3", amount_minor: 1234, currency: "KWD" }),
      ),
    });
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    const rows = await screen.findAllByTestId("payment-row");
    const amounts = rows.map((row) => row.querySelector("td")?.textContent ?? "");
    expect(amounts[0]).toBe("$12.34");
    expect(amounts[1]).toBe("¥500");
    expect(amounts[2]).toMatch(/^KWD\s1\.234$/);
  });

  it("says so when there are no payments", async () => {
    fakeApi();
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    expect(await screen.findByText("No payments yet.")).toBeInTheDocument();
  });

  it("shows an alert when the list cannot be loaded", async () => {
    fakeApi({ "GET /api/payments": () => json(500, { detail: "boom" }) });
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load payments: boom (HTTP 500)");
  });

  it("says the deployment does not route the API when /api is not the API (certificate mode 3)", async () => {
    edgeWithoutApi();
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    expect(await screen.findByRole("alert")).toHaveTextContent(`Could not load payments: ${API_NOT_ROUTED_MESSAGE}`);
  });

  it("sends the API key as a Bearer token", async () => {
    const api = fakeApi();
    render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    await screen.findByText("No payments yet.");
    expect(api.requests.map((r) => r.headers.get("Authorization"))).toEqual([`Bearer ${TEST_API_KEY}`]);
  });

  it("asks for nothing without an API key and says one is needed", () => {
    const api = fakeApi();
    render(<PaymentList apiKey="" refreshKey={0} />);
    expect(screen.getByText("Paste an API key under Client API key to list this client's payments.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Refresh" })).toBeDisabled();
    // render() has run the effects, and the list's fetch starts in its effect (with a key, the
    // request is recorded by now, see the first test): none was made.
    expect(api.requests).toEqual([]);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("says the key is missing, wrong or revoked when the API answers 401", async () => {
    fakeApi();
    render(<PaymentList apiKey={UNKNOWN_API_KEY} refreshKey={0} />);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Could not load payments: API key missing, wrong or revoked (HTTP 401). Check the key under Client API key.",
    );
  });

  it("reloads with a new key and never shows the previous client's payments under it", async () => {
    const api = fakeApi({
      "GET /api/payments": (request) =>
        request.headers.get("Authorization") === `Bearer ${TEST_API_KEY}`
          ? listOf(payment({ id: "pay_a", merchant_reference: "client-a-order" }))()
          : listOf()(),
    });
    const { rerender } = render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    expect(await screen.findByTestId("payment-row")).toHaveTextContent("client-a-order");
    rerender(<PaymentList apiKey={OTHER_API_KEY} refreshKey={0} />);
    // At once, before the new answer: the old client's rows are gone.
    expect(screen.queryByTestId("payment-row")).not.toBeInTheDocument();
    expect(await screen.findByText("No payments yet.")).toBeInTheDocument();
    expect(api.requests.map((r) => r.headers.get("Authorization"))).toEqual([
      `Bearer ${TEST_API_KEY}`,
      `Bearer ${OTHER_API_KEY}`,
    ]);
  });

  it("hides the payments when the key is forgotten", async () => {
    fakeApi({ "GET /api/payments": listOf(payment({ merchant_reference: "secret-order" })) });
    const { rerender } = render(<PaymentList apiKey={TEST_API_KEY} refreshKey={0} />);
    await screen.findByTestId("payment-row");
    rerender(<PaymentList apiKey="" refreshKey={0} />);
    expect(screen.queryByText("secret-order")).not.toBeInTheDocument();
    expect(screen.getByText(/Paste an API key under Client API key/)).toBeInTheDocument();
  });
});
