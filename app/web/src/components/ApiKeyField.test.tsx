import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { TEST_API_KEY } from "../test/fakeApi";
import { ApiKeyField } from "./ApiKeyField";

/** The field with its state held as App holds it. */
function Harness() {
  const [value, setValue] = useState("");
  return (
    <>
      <ApiKeyField value={value} onChange={setValue} />
      <output data-testid="held">{value}</output>
    </>
  );
}

function setup() {
  const user = userEvent.setup();
  render(<Harness />);
  return { user, input: screen.getByLabelText("API key") };
}

describe("ApiKeyField", () => {
  it("is a password input outside any form, with no name and no autocomplete", () => {
    const { input } = setup();
    expect(input).toHaveAttribute("type", "password");
    expect(input).toHaveAttribute("autocomplete", "off");
    expect(input).not.toHaveAttribute("name");
    expect(input.closest("form")).toBeNull();
  });

  it("hands the pasted key to its owner", async () => {
    const { user, input } = setup();
    await user.click(input);
    await user.paste(TEST_API_KEY);
    expect(screen.getByTestId("held")).toHaveTextContent(TEST_API_KEY);
    expect(screen.getByTestId("api-key-state")).toHaveTextContent("Key set");
  });

  it("keeps the key out of the markup: no value attribute, only the input's live value", async () => {
    const { user, input } = setup();
    await user.click(input);
    await user.paste(TEST_API_KEY);
    expect(input).toHaveValue(TEST_API_KEY);
    expect(input).not.toHaveAttribute("value");
    // The field's markup (the harness shows its own copy beside it).
    expect(input.closest("section")?.outerHTML).not.toContain(TEST_API_KEY);
  });

  it("says a key is needed while there is none", () => {
    setup();
    expect(screen.getByTestId("api-key-state")).toHaveTextContent(
      "No API key yet: paste one to create and list payments.",
    );
  });

  it("forgets the key on Forget key: the input is emptied and focused", async () => {
    const { user, input } = setup();
    await user.click(input);
    await user.paste(TEST_API_KEY);
    await user.click(screen.getByRole("button", { name: "Forget key" }));
    expect(input).toHaveValue("");
    expect(input).toHaveFocus();
    expect(screen.getByTestId("held")).toBeEmptyDOMElement();
    expect(screen.queryByRole("button", { name: "Forget key" })).not.toBeInTheDocument();
  });

  it("flags a pasted value that cannot be a key", async () => {
    const { user, input } = setup();
    await user.click(input);
    await user.paste("pay_0123 4567");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription(expect.stringContaining("no spaces"));
    expect(screen.getByTestId("api-key-state")).toHaveTextContent("No API key yet");
  });

  it("tells the user the key is kept in memory only", () => {
    const { input } = setup();
    expect(input).toHaveAccessibleDescription(expect.stringContaining("kept in this page's memory only"));
  });
});
