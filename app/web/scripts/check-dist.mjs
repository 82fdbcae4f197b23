// After `vite build`: fail if dist/index.html would break the CloudFront CSP
// (script-src 'self'; style-src 'self'; no eval) or if the assets are not content-hashed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const problems = [];

for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  const [, attrs, body] = match;
  if (!/\bsrc\s*=/.test(attrs) || body.trim() !== "") problems.push(`inline script: ${match[0].slice(0, 80)}`);
}
if (/<style\b/i.test(html)) problems.push("inline <style> element");
if (/\sstyle\s*=/i.test(html)) problems.push("style= attribute");
if (/\son[a-z]+\s*=/i.test(html)) problems.push("inline event handler attribute");
if (/(src|href)\s*=\s*["']?(data:|javascript:|https?:)/i.test(html)) problems.push("data:, javascript: or off-origin URL");

const assets = readdirSync(join(dist, "assets"));
const code = assets.filter((f) => /\.(js|css)$/.test(f));
if (!code.some((f) => f.endsWith(".js")) || !code.some((f) => f.endsWith(".css"))) problems.push("missing .js or .css asset");
for (const file of code) {
  if (!/-[A-Za-z0-9_-]{8,}\.(js|css)$/.test(file)) problems.push(`asset without a content hash: ${file}`);
  if (file.endsWith(".js") && /\beval\(|new Function\(/.test(readFileSync(join(dist, "assets", file), "utf8"))) {
    problems.push(`eval or new Function in ${file}`);
  }
}

if (problems.length > 0) {
  console.error(`dist/ breaks the CSP contract:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`dist/ is CSP-clean: index.html has no inline script or style; assets: ${code.join(", ")}`);
