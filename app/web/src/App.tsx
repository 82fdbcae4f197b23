import { useState } from "react";
import { apiKeyProblem } from "./api";
import { ApiKeyField } from "./components/ApiKeyField";
import { PaymentForm } from "./components/PaymentForm";
import { PaymentList } from "./components/PaymentList";
import { StatusPanel } from "./components/StatusPanel";

export function App() {
  const [listVersion, setListVersion] = useState(0);
  // The API key lives here, in memory, and nowhere else (see ApiKeyField). "" means no usable key.
  const [apiKeyText, setApiKeyText] = useState("");
  const trimmed = apiKeyText.trim();
  const apiKey = apiKeyProblem(trimmed) === null ? trimmed : "";
  return (
    <>
      <header className="page-header">
        <h1>Payments platform status</h1>
      </header>
      <main className="page">
        <StatusPanel />
        <ApiKeyField value={apiKeyText} onChange={setApiKeyText} />
        <PaymentForm apiKey={apiKey} onCreated={() => setListVersion((n) => n + 1)} />
        <PaymentList apiKey={apiKey} refreshKey={listVersion} />
      </main>
    </>
  );
}
