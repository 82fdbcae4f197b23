import { useEffect, useState } from "react";
import { API_NOT_ROUTED_MESSAGE, ApiNotRoutedError, getHealth, getReadiness, type Health, type Readiness } from "../api";

/** `notRouted`: /api answered, but not the API (certificate mode 3): see ApiNotRoutedError. */
type Loadable<T> =
  | { state: "loading" }
  | { state: "done"; value: T }
  | { state: "error"; message: string; notRouted: boolean };

/** What health and readiness show when /api does not lead to the API; the alert says why. */
export const NOT_ROUTED_TEXT = "not routed through CloudFront";

/** API health (with version) and readiness, fetched on mount and on "Check again". */
export function StatusPanel() {
  const [health, setHealth] = useState<Loadable<Health>>({ state: "loading" });
  const [readiness, setReadiness] = useState<Loadable<Readiness>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setHealth({ state: "loading" });
    setReadiness({ state: "loading" });
    getHealth(signal).then(
      (value) => setHealth({ state: "done", value }),
      (error: unknown) => !signal.aborted && setHealth(failed(error)),
    );
    getReadiness(signal).then(
      (value) => setReadiness({ state: "done", value }),
      (error: unknown) => !signal.aborted && setReadiness(failed(error)),
    );
    return () => controller.abort();
  }, [attempt]);

  const notRouted =
    (health.state === "error" && health.notRouted) || (readiness.state === "error" && readiness.notRouted);

  return (
    <section className="card" aria-labelledby="status-heading">
      <div className="section-head">
        <h2 id="status-heading">API status</h2>
        <button type="button" className="secondary" onClick={() => setAttempt((n) => n + 1)}>
          Check again
        </button>
      </div>
      <dl className="status-list">
        <div>
          <dt>Health</dt>
          <dd data-testid="api-health" className={healthClass(health)}>
            {healthText(health)}
          </dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd data-testid="api-version">{health.state === "done" ? versionText(health.value) : "—"}</dd>
        </div>
        <div>
          <dt>Readiness</dt>
          <dd data-testid="api-readiness" className={readinessClass(readiness)}>
            {readinessText(readiness)}
          </dd>
        </div>
      </dl>
      {notRouted && (
        <p role="alert" className="error" data-testid="api-not-routed">
          {API_NOT_ROUTED_MESSAGE}
        </p>
      )}
    </section>
  );
}

/** "0.1.0 (3f2a1b9c4d5e)": the version and, when the image says, the commit it was built from. */
function versionText(health: Health): string {
  return health.commit ? `${health.version} (${health.commit.slice(0, 12)})` : health.version;
}

function healthText(health: Loadable<Health>): string {
  switch (health.state) {
    case "loading":
      return "checking…";
    case "done":
      return health.value.status;
    case "error":
      return `unreachable: ${health.notRouted ? NOT_ROUTED_TEXT : health.message}`;
  }
}

function readinessText(readiness: Loadable<Readiness>): string {
  switch (readiness.state) {
    case "loading":
      return "checking…";
    case "done":
      return readiness.value.ready ? "ready" : `unavailable: ${readiness.value.reason}`;
    case "error":
      return `unavailable: ${readiness.notRouted ? NOT_ROUTED_TEXT : readiness.message}`;
  }
}

function healthClass(health: Loadable<Health>): string {
  if (health.state === "loading") return "pending";
  return health.state === "done" && health.value.status === "ok" ? "good" : "bad";
}

function readinessClass(readiness: Loadable<Readiness>): string {
  if (readiness.state === "loading") return "pending";
  return readiness.state === "done" && readiness.value.ready ? "good" : "bad";
}

function failed(error: unknown): { state: "error"; message: string; notRouted: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  return { state: "error", message, notRouted: error instanceof ApiNotRoutedError };
}
