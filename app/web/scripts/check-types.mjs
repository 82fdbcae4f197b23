// `npm run check:types`: fail if src/api/schema.d.ts is not what openapi-typescript generates
// from src/api/openapi.json. Regenerates into a temporary file with the pinned CLI, exactly as
// `npm run gen:types` does, and compares. (app/api's tests hold openapi.json to the API itself.)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const web = new URL("..", import.meta.url).pathname;
const documentPath = "src/api/openapi.json";
const typesPath = "src/api/schema.d.ts";
const cli = join(web, "node_modules", ".bin", "openapi-typescript");
const scratch = mkdtempSync(join(tmpdir(), "payments-web-types-"));

try {
  const generated = join(scratch, "schema.d.ts");
  const run = spawnSync(cli, [documentPath, "--output", generated], { cwd: web, encoding: "utf8" });
  if (run.error || run.status !== 0) {
    console.error(`openapi-typescript failed:\n${run.error?.message ?? ""}${run.stdout}${run.stderr}`);
    process.exit(1);
  }
  if (readFileSync(generated, "utf8") !== readFileSync(join(web, typesPath), "utf8")) {
    const diff = spawnSync("diff", ["-u", typesPath, generated], { cwd: web, encoding: "utf8" });
    console.error(
      `${typesPath} is not generated from ${documentPath}: run \`npm run gen:types\` and commit it.\n` +
        (diff.stdout || ""),
    );
    process.exit(1);
  }
  console.log(`${typesPath} is generated from ${documentPath}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
