import { render, screen, waitFor } from "@testing-library/react";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { API_NOT_ROUTED_MESSAGE } from "../api";
import {
  edgeWithoutApi,
  fakeApi,
  json,
  OTHER_API_KEY,
  payment,
  TEST_API_KEY,
  UNKNOWN_API_KEY,
  type RecordedRequest,
} from "../test/fakeApi";
import { PaymentForm } from "./PaymentForm";

const KEY = /^[a-z]{26}$/;

function setup(apiKey: string = TEST_API_KEY) {
  const onCreated = vi.fn();
  const user = userEvent.setup();
  const { rerender } = render(<PaymentForm apiKey={apiKey} onCreated={onCreated} />);
  const setApiKey = (key: string) => rerender(<PaymentForm apiKey={key} onCreated={onCreated} />);
  return { user, onCreated, setApiKey };
}

async function fill(user: UserEvent, values: { amount?: string; currency?: string; reference?: string } = {}) {
  const { amount = "1234", currency, reference = "order-1" } = values;
  const amountInput = screen.getByLabelText("Amount (minor units)");
  await user.clear(amountInput);
  await user.type(amountInput, amount);
  if (currency !== undefined) {
    const currencyInput = screen.getByLabelText("Currency");
    await user.clear(currencyInput);
    await user.type(currencyInput, currency);
  }
  const referenceInput = screen.getByLabelText("Merchant reference");
  await user.clear(referenceInput);
  await user.type(referenceInput, reference);
}

async function submit(user: UserEvent) {
  await user.click(screen.getByRole("button", { name: "Create payment" }));
}

/** A POST handler that fails like a dropped connection the first time, then behaves normally. */
function failOnceThenCreate() {
  let calls = 0;
  return (request: RecordedRequest) => {
    calls += 1;
    if (calls === 1) {
      throw new TypeError("Failed to fetch");
    }
    return json(201, payment({ ...(request.body as object), id: `pay_${calls}` }));
  };
}

describe("PaymentForm", () => {
  it("defaults the currency to USD", () => {
    fakeApi();
    setup();
    expect(screen.getByLabelText("Currency")).toHaveValue("USD");
  });

  it("POSTs to /api/payments with a JSON content type", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("status");
    const [post] = api.posts();
    expect(post?.url).toBe("/api/payments");
    expect(post?.headers.get("Content-Type")).toBe("application/json");
  });

  it("sends a fresh key of letters as the Idempotency-Key header", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("status");
    expect(api.posts()[0]?.headers.get("Idempotency-Key")).toMatch(KEY);
  });

  it("sends the amount as an integer with the currency and the merchant reference", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user, { amount: "1234", currency: "eur", reference: "order-7" });
    await submit(user);
    await screen.findByRole("status");
    expect(api.posts()[0]?.body).toStrictEqual({ amount_minor: 1234, currency: "EUR", merchant_reference: "order-7" });
  });

  it("reports the created payment to its parent", async () => {
    fakeApi();
    const { user, onCreated } = setup();
    await fill(user, { reference: "order-9" });
    await submit(user);
    await screen.findByRole("status");
    expect(onCreated).toHaveBeenCalledWith(expect.objectContaining({ merchant_reference: "order-9" }));
  });

  it("tells the user when the API cannot be reached", async () => {
    fakeApi({ "POST /api/payments": failOnceThenCreate() });
    const { user } = setup();
    await fill(user);
    await submit(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not reach the API");
  });

  it("says the deployment does not route the API when /api is not the API (certificate mode 3)", async () => {
    edgeWithoutApi();
    const { user, onCreated } = setup();
    await fill(user);
    await submit(user);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(API_NOT_ROUTED_MESSAGE);
    expect(alert).not.toHaveTextContent("The API failed");
    expect(onCreated).not.toHaveBeenCalled();
  });

  it("reuses the Idempotency-Key when the same submission is retried after a network error", async () => {
    const api = fakeApi({ "POST /api/payments": failOnceThenCreate() });
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("alert");
    await submit(user);
    await screen.findByRole("status");
    const [first, retry] = api.posts().map((p) => p.headers.get("Idempotency-Key"));
    expect(retry).toBe(first);
  });

  it("uses a new Idempotency-Key for the next submission after a payment is created", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("status");
    await fill(user);
    await submit(user);
    await waitFor(() => expect(api.posts()).toHaveLength(2));
    const [first, second] = api.posts().map((p) => p.headers.get("Idempotency-Key"));
    expect(second).toMatch(KEY);
    expect(second).not.toBe(first);
  });

  it("uses a new Idempotency-Key when the form is changed after a network error", async () => {
    const api = fakeApi({ "POST /api/payments": failOnceThenCreate() });
    const { user } = setup();
    await fill(user, { amount: "1234" });
    await submit(user);
    await screen.findByRole("alert");
    await fill(user, { amount: "1235" });
    await submit(user);
    await screen.findByRole("status");
    const [first, second] = api.posts().map((p) => p.headers.get("Idempotency-Key"));
    expect(second).not.toBe(first);
  });

  it("sends the API key as a Bearer token", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("status");
    expect(api.posts()[0]?.headers.get("Authorization")).toBe(`Bearer ${TEST_API_KEY}`);
  });

  it("sends nothing without an API key and says one is needed", async () => {
    const api = fakeApi();
    const { user } = setup("");
    expect(screen.getByRole("button", { name: "Create payment" })).toHaveAccessibleDescription(
      "Needs an API key: paste one under Client API key first.",
    );
    await fill(user);
    await submit(user);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "An API key is needed to create payments: paste one under Client API key.",
    );
    expect(api.requests).toEqual([]);
  });

  it("says the key is missing, wrong or revoked when the API answers 401", async () => {
    const api = fakeApi();
    const { user } = setup(UNKNOWN_API_KEY);
    await fill(user);
    await submit(user);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "API key missing, wrong or revoked (HTTP 401): check the key under Client API key.",
    );
    expect(api.posts()).toHaveLength(1);
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("uses a new Idempotency-Key when the API key is changed after a network error", async () => {
    const api = fakeApi({ "POST /api/payments": failOnceThenCreate() });
    const { user, setApiKey } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("alert");
    setApiKey(OTHER_API_KEY);
    await submit(user);
    await screen.findByRole("status");
    const [first, second] = api.posts();
    expect(second?.headers.get("Authorization")).toBe(`Bearer ${OTHER_API_KEY}`);
    expect(second?.headers.get("Idempotency-Key")).not.toBe(first?.headers.get("Idempotency-Key"));
  });

  it("shows each 422 field message next to its field", async () => {
    fakeApi({
      "POST /api/payments": () =>
        json(422, {
          detail: [
            { loc: ["body", "amount_minor"], msg: "Input should be greater than 0", type: "greater_than" },
            { loc: ["body", "currency"], msg: "Value error, unknown currency XXX", type: "value_error" },
          ],
        }),
    });
    const { user } = setup();
    await fill(user, { amount: "0", currency: "XXX" });
    await submit(user);
    await screen.findByRole("alert");
    expect(screen.getByLabelText("Amount (minor units)")).toHaveAccessibleDescription(
      expect.stringContaining("Input should be greater than 0"),
    );
    expect(screen.getByLabelText("Currency")).toHaveAccessibleDescription(
      expect.stringContaining("Value error, unknown currency XXX"),
    );
  });

  it("marks fields with 422 errors as invalid", async () => {
    fakeApi({
      "POST /api/payments": () =>
        json(422, { detail: [{ loc: ["body", "merchant_reference"], msg: "String too long", type: "string_too_long" }] }),
    });
    const { user } = setup();
    await fill(user);
    await submit(user);
    await screen.findByRole("alert");
    expect(screen.getByLabelText("Merchant reference")).toHaveAttribute("aria-invalid", "true");
  });

  it("lists 422 errors that belong to no field in the alert", async () => {
    fakeApi({
      "POST /api/payments": () =>
        json(422, { detail: [{ loc: ["header", "idempotency-key"], msg: "Field required", type: "missing" }] }),
    });
    const { user } = setup();
    await fill(user);
    await submit(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("header.idempotency-key: Field required");
  });

  it("shows the detail of a 409 conflict", async () => {
    fakeApi({
      "POST /api/payments": () => json(409, { detail: "Idempotency-Key reused with a different request" }),
    });
    const { user } = setup();
    await fill(user);
    await submit(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("Conflict: Idempotency-Key reused with a different request");
  });

  it("does not send a non-integer amount and says why", async () => {
    const api = fakeApi();
    const { user } = setup();
    await fill(user, { amount: "12.34" });
    await submit(user);
    expect(screen.getByLabelText("Amount (minor units)")).toHaveAccessibleDescription(
      expect.stringContaining("Enter a whole number of minor units"),
    );
    expect(api.posts()).toHaveLength(0);
  });

  it("has no field that asks for card data", () => {
    fakeApi();
    setup();
    const names = screen.getAllByRole("textbox").map((input) => input.getAttribute("name"));
    expect(names).toEqual(["amount_minor", "currency", "merchant_reference"]);
  });

  it("tells the user the demo never accepts card numbers", () => {
    fakeApi();
    setup();
    expect(screen.getByText(/This demo never accepts card numbers/)).toBeInTheDocument();
  });
});
