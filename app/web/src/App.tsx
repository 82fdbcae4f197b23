import { useState } from "react";
import { PaymentForm } from "./components/PaymentForm";
import { PaymentList } from "./components/PaymentList";
import { StatusPanel } from "./components/StatusPanel";

export function App() {
  const [listVersion, setListVersion] = useState(0);
  return (
    <>
      <header className="page-header">
        <h1>Payments platform status</h1>
      </header>
      <main className="page">
        <StatusPanel />
        <PaymentForm onCreated={() => setListVersion((n) => n + 1)} />
        <PaymentList refreshKey={listVersion} />
      </main>
    </>
  );
}
