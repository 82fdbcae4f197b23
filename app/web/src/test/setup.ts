import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// vitest runs without globals, so Testing Library's automatic cleanup is not registered.
afterEach(() => {
  cleanup();
});

// Deadlines that only bound a failure: findBy*/waitFor return as soon as the state they wait for
// is there, so a long limit costs a passing test nothing, while the defaults (1 s for findBy* and
// waitFor, 5 s a test) fail tests on a loaded machine that are merely slow, not wrong.
configure({ asyncUtilTimeout: 10_000 });
vi.setConfig({ testTimeout: 30_000 });
