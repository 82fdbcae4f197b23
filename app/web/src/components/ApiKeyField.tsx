import { useRef } from "react";
import { apiKeyProblem } from "../api";

interface Props {
  /** The field's text, as typed or pasted (what `onChange` last reported). */
  value: string;
  onChange: (value: string) => void;
}

/**
 * The client's API key, which every /api/payments call needs. The page ships no key: the user
 * pastes one (made with `python -m payments_api.cli.api_keys create CLIENT`). It lives in the App's
 * React state only, so it is gone when the page is closed or reloaded: never written to
 * localStorage, sessionStorage, a cookie or the URL. The input is a password field (not shown on
 * screen) outside any <form>, with no `name`, so no form submission can carry it anywhere.
 *
 * The input is uncontrolled on purpose: React mirrors a controlled input's value into its `value`
 * attribute, which would put the key into the DOM's markup (where attribute selectors and
 * anything serialising the page could read it). Here only the input's live value holds it.
 */
export function ApiKeyField({ value, onChange }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const key = value.trim();
  const problem = key === "" ? null : apiKeyProblem(key);
  const usable = key !== "" && problem === null;
  return (
    <section className="card" aria-labelledby="api-key-heading">
      <div className="section-head">
        <h2 id="api-key-heading">Client API key</h2>
        {value !== "" && (
          <button
            type="button"
            className="secondary"
            onClick={() => {
              if (input.current) {
                input.current.value = "";
                input.current.focus();
              }
              onChange("");
            }}
          >
            Forget key
          </button>
        )}
      </div>
      <div className="field">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          placeholder="pay_…"
          ref={input}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? "api-key-hint api-key-error" : "api-key-hint"}
        />
        <p id="api-key-hint" className="hint">
          Creating and listing payments need your client's key (<code>pay_…</code>, made with{" "}
          <code>python -m payments_api.cli.api_keys create CLIENT</code>). It is kept in this page's memory only: never
          saved, and gone when you reload or close the page.
        </p>
        {problem && (
          <p id="api-key-error" className="field-error">
            {problem}
          </p>
        )}
      </div>
      <p data-testid="api-key-state" className={usable ? "good" : "pending"}>
        {usable
          ? "Key set: the form and the list below use it."
          : "No API key yet: paste one to create and list payments."}
      </p>
    </section>
  );
}
