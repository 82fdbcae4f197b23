import { render, screen, within } from "@testing-library/react";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { fakeApi, TEST_API_KEY, UNKNOWN_API_KEY } from "./test/fakeApi";

async function pasteKey(user: UserEvent, key: string) {
  await user.click(screen.getByLabelText("API key"));
  await user.paste(key);
}

async function createPayment(user: UserEvent, reference: string) {
  await user.type(screen.getByLabelText("Amount (minor units)"), "1234");
  await user.type(screen.getByLabelText("Merchant reference"), reference);
  await user.click(screen.getByRole("button", { name: "Create payment" }));
}

describe("App", () => {
  beforeEach(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  afterEach(() => {
    localStorage.clear();
    sessionStorage.clear();
  });

  it("shows a newly created payment under Recent payments", async () => {
    fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await pasteKey(user, TEST_API_KEY);
    await screen.findByText("No payments yet.");

    await createPayment(user, "order-e2e");

    const list = screen.getByRole("region", { name: "Recent payments" });
    const row = await within(list).findByTestId("payment-row");
    expect(row).toHaveTextContent("order-e2e");
    expect(row).toHaveTextContent("$12.34");
  });

  it("sends the pasted key on every payments call", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await pasteKey(user, TEST_API_KEY);
    await createPayment(user, "order-key");
    await within(screen.getByRole("region", { name: "Recent payments" })).findByTestId("payment-row");

    const calls = api.paymentCalls().map((r) => [r.method, r.headers.get("Authorization")]);
    expect(calls).toEqual([
      ["GET", `Bearer ${TEST_API_KEY}`],
      ["POST", `Bearer ${TEST_API_KEY}`],
      ["GET", `Bearer ${TEST_API_KEY}`],
    ]);
  });

  it("never stores the key: no web storage, no cookie, not in the URL", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    const url = window.location.href;
    fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await pasteKey(user, TEST_API_KEY);
    await createPayment(user, "order-storage");
    await within(screen.getByRole("region", { name: "Recent payments" })).findByTestId("payment-row");

    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(document.cookie).toBe("");
    expect(window.location.href).toBe(url);
    expect(document.documentElement.outerHTML).not.toContain(TEST_API_KEY);
  });

  it("shows the version and readiness without a key, and asks for none", async () => {
    const api = fakeApi();
    render(<App />);
    const status = screen.getByRole("region", { name: "API status" });
    expect(await within(status).findByText("0.1.0")).toBeInTheDocument();
    expect(await within(status).findByText("ready")).toBeInTheDocument();
    expect(api.requests.map((r) => [r.path, r.headers.has("Authorization")])).toEqual([
      ["/api/healthz", false],
      ["/api/readyz", false],
    ]);
  });

  it("makes plain that creating and listing need a key until one is pasted", async () => {
    const api = fakeApi();
    const user = userEvent.setup();
    render(<App />);
    expect(screen.getByTestId("api-key-state")).toHaveTextContent("No API key yet");
    const list = screen.getByRole("region", { name: "Recent payments" });
    expect(within(list).getByText(/Paste an API key under Client API key/)).toBeInTheDocument();

    await createPayment(user, "order-no-key");
    const form = screen.getByRole("region", { name: "Create a test payment" });
    expect(await within(form).findByRole("alert")).toHaveTextContent("An API key is needed to create payments");
    expect(api.paymentCalls()).toEqual([]);
  });

  it("shows the 401 message in the list and the form for a key the API does not accept", async () => {
    fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await pasteKey(user, UNKNOWN_API_KEY);
    const list = screen.getByRole("region", { name: "Recent payments" });
    expect(await within(list).findByRole("alert")).toHaveTextContent("API key missing, wrong or revoked");

    await createPayment(user, "order-bad-key");
    const form = screen.getByRole("region", { name: "Create a test payment" });
    expect(await within(form).findByRole("alert")).toHaveTextContent("API key missing, wrong or revoked");
  });

  it("hides the client's payments once the key is forgotten", async () => {
    fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await pasteKey(user, TEST_API_KEY);
    await createPayment(user, "order-forget");
    const list = screen.getByRole("region", { name: "Recent payments" });
    await within(list).findByTestId("payment-row");

    await user.click(screen.getByRole("button", { name: "Forget key" }));
    expect(within(list).queryByTestId("payment-row")).not.toBeInTheDocument();
    expect(screen.getByLabelText("API key")).toHaveValue("");
  });
});
