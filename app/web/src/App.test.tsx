import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { fakeApi } from "./test/fakeApi";

describe("App", () => {
  it("shows a newly created payment under Recent payments", async () => {
    fakeApi();
    const user = userEvent.setup();
    render(<App />);
    await screen.findByText("No payments yet.");

    await user.type(screen.getByLabelText("Amount (minor units)"), "1234");
    await user.type(screen.getByLabelText("Merchant reference"), "order-e2e");
    await user.click(screen.getByRole("button", { name: "Create payment" }));

    const list = screen.getByRole("region", { name: "Recent payments" });
    const row = await within(list).findByTestId("payment-row");
    expect(row).toHaveTextContent("order-e2e");
    expect(row).toHaveTextContent("$12.34");
  });

  it("shows the version and readiness in the status area", async () => {
    fakeApi();
    render(<App />);
    const status = screen.getByRole("region", { name: "API status" });
    expect(await within(status).findByText("0.1.0")).toBeInTheDocument();
    expect(await within(status).findByText("ready")).toBeInTheDocument();
  });
});
