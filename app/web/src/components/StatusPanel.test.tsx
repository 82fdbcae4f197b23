import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { API_NOT_ROUTED_MESSAGE } from "../api";
import { edgeWithoutApi, fakeApi, json } from "../test/fakeApi";
import { StatusPanel } from "./StatusPanel";

describe("StatusPanel", () => {
  it("shows the API version from /api/healthz", async () => {
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "0.1.0" }) });
    render(<StatusPanel />);
    expect(await screen.findByText("0.1.0")).toBeInTheDocument();
  });

  it("shows the commit the deployed image was built from, when /api/healthz says it", async () => {
    const commit = "3f2a1b9c4d5e6f708192a3b4c5d6e7f8091a2b3c";
    fakeApi({ "GET /api/healthz": () => json(200, { status: "ok", version: "0.1.0", commit }) });
    render(<StatusPanel />);
    await waitFor(() => expect(screen.getByTestId("api-version")).toHaveTextContent("0.1.0 (3f2a1b9c4d5e)"));
  });

  it("shows the health status from /api/healthz", async () => {
    fakeApi();
    render(<StatusPanel />);
    // The element is there from the first render, showing "checking…" until the fetch settles:
    // wait for the text itself, not for the element (findByTestId would return at once).
    await waitFor(() => expect(screen.getByTestId("api-health")).toHaveTextContent(/^ok$/));
  });

  it("shows ready when /api/readyz answers 200", async () => {
    fakeApi();
    render(<StatusPanel />);
    expect(await screen.findByText("ready")).toBeInTheDocument();
  });

  it("shows unavailable with the reason when /api/readyz answers 503", async () => {
    fakeApi({ "GET /api/readyz": () => json(503, { status: "unavailable", reason: "database unreachable" }) });
    render(<StatusPanel />);
    expect(await screen.findByText("unavailable: database unreachable")).toBeInTheDocument();
  });

  it("shows the API as unreachable when /api/healthz cannot be fetched", async () => {
    fakeApi({
      "GET /api/healthz": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    render(<StatusPanel />);
    expect(await screen.findByText("unreachable: network error: Failed to fetch")).toBeInTheDocument();
  });

  it("sits under a heading named API status", () => {
    fakeApi();
    render(<StatusPanel />);
    expect(screen.getByRole("region", { name: "API status" })).toBeInTheDocument();
  });

  it("says plainly that the deployment does not route the API, and what to do, in certificate mode 3", async () => {
    edgeWithoutApi();
    render(<StatusPanel />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(API_NOT_ROUTED_MESSAGE);
    expect(alert).toHaveTextContent("does not route the API through CloudFront (certificate mode 3");
    expect(alert).toHaveTextContent("deploy with certificate mode 1");
    await waitFor(() => expect(screen.getByTestId("api-health")).toHaveTextContent("unreachable: not routed through CloudFront"));
    await waitFor(() =>
      expect(screen.getByTestId("api-readiness")).toHaveTextContent("unavailable: not routed through CloudFront"),
    );
  });

  it("says the same when /api answers with the app's page instead of the API's JSON", async () => {
    const page = () => new Response("<!doctype html><html></html>", { status: 200, headers: { "Content-Type": "text/html" } });
    fakeApi({ "GET /api/healthz": page, "GET /api/readyz": page });
    render(<StatusPanel />);
    expect(await screen.findByTestId("api-not-routed")).toHaveTextContent(API_NOT_ROUTED_MESSAGE);
  });

  it("keeps a gateway error a plain failure, without the routing alert", async () => {
    fakeApi({ "GET /api/healthz": () => new Response("<html>Bad Gateway</html>", { status: 502 }) });
    render(<StatusPanel />);
    expect(await screen.findByText("unreachable: HTTP 502")).toBeInTheDocument();
    expect(await screen.findByText("ready")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
