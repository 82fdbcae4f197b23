import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi, json, payment } from "../test/fakeApi";
import { PaymentList } from "./PaymentList";

function listOf(...payments: ReturnType<typeof payment>[]) {
  return () => json(200, { data: payments, count: payments.length, next_after: null });
}

describe("PaymentList", () => {
  it("asks the API for the 10 most recent payments", async () => {
    const api = fakeApi();
    render(<PaymentList refreshKey={0} />);
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
    render(<PaymentList refreshKey={0} />);
    const rows = await screen.findAllByTestId("payment-row");
    expect(rows.map((row) => within(row).getByText(/newer|older/).textContent)).toEqual(["newer", "older"]);
  });

  it("shows each payment's reference, id and creation time", async () => {
    fakeApi({
      "GET /api/payments": listOf(
        payment({ id: "pay_42", merchant_reference: "order-42", created_at: "2026-01-02T15:04:05Z" }),
      ),
    });
    render(<PaymentList refreshKey={0} />);
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
    render(<PaymentList refreshKey={0} />);
    const rows = await screen.findAllByTestId("payment-row");
    const amounts = rows.map((row) => row.querySelector("td")?.textContent ?? "");
    expect(amounts[0]).toBe("$12.34");
    expect(amounts[1]).toBe("¥500");
    expect(amounts[2]).toMatch(/^KWD\s1\.234$/);
  });

  it("says so when there are no payments", async () => {
    fakeApi();
    render(<PaymentList refreshKey={0} />);
    expect(await screen.findByText("No payments yet.")).toBeInTheDocument();
  });

  it("shows an alert when the list cannot be loaded", async () => {
    fakeApi({ "GET /api/payments": () => json(500, { detail: "boom" }) });
    render(<PaymentList refreshKey={0} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load payments: boom (HTTP 500)");
  });
});
