import react from "@vitejs/plugin-react";
import type { ProxyOptions } from "vite";
import { defineConfig } from "vitest/config";

// The project has no @types/node (the app is browser code), so the config reaches the two Node
// APIs it needs through this small typed view. process.getBuiltinModule: Node 20.16+.
interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule(id: "node:fs"): { readFileSync(path: string, encoding: "utf8"): string };
}
const nodeProcess = (globalThis as unknown as { process: NodeProcess }).process;

/**
 * `server.proxy` for `npm run dev`: `/api/*` goes to PAYMENTS_API_ORIGIN (e.g.
 * `https://127.0.0.1:8443`), as CloudFront routes it in AWS, so the page calls the API
 * same-origin. The API's certificate is verified (`secure: true`) against exactly the
 * certificates in PAYMENTS_API_CA_FILE (PEM) when it is set, else against Node's usual CAs;
 * the host name or IP in the origin must be in the certificate's subjectAltName.
 * `make dev` (app/dev/run.py) sets both variables. Unset origin: no proxy.
 */
function apiProxy(env: Record<string, string | undefined>): Record<string, ProxyOptions> | undefined {
  const origin = env.PAYMENTS_API_ORIGIN?.trim();
  const caFile = env.PAYMENTS_API_CA_FILE?.trim();
  if (!origin) {
    console.info(
      "No /api proxy: PAYMENTS_API_ORIGIN is not set, so API calls get 404. " +
        "`make dev` (repo root) runs PostgreSQL, the API and this server together.",
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`PAYMENTS_API_ORIGIN is not a URL: ${JSON.stringify(origin)}`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.pathname !== "/" || url.search) {
    throw new Error(`PAYMENTS_API_ORIGIN must be an origin such as https://127.0.0.1:8443; got ${origin}`);
  }
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = nodeProcess.getBuiltinModule("node:fs").readFileSync(caFile, "utf8");
    } catch (error) {
      throw new Error(`cannot read PAYMENTS_API_CA_FILE ${caFile}: ${String(error)}`);
    }
  }
  return {
    "/api": {
      target: url.origin,
      changeOrigin: true,
      secure: true,
      ...(ca === undefined ? {} : { ca }),
    },
  };
}

export default defineConfig(({ command, mode }) => {
  const proxy = command === "serve" && mode !== "test" ? apiProxy(nodeProcess.env) : undefined;
  return {
    plugins: [react()],
    server: proxy ? { proxy } : {},
    build: {
      // The CloudFront CSP is `script-src 'self'; style-src 'self'`: keep every script and
      // stylesheet a separate file, never inlined into index.html as a data: URL or <style>.
      assetsInlineLimit: 0,
      sourcemap: false,
    },
    test: {
      environment: "jsdom",
      setupFiles: ["./src/test/setup.ts"],
      include: ["src/**/*.test.{ts,tsx}"],
      restoreMocks: true,
      unstubGlobals: true,
      unstubEnvs: true,
    },
  };
});
