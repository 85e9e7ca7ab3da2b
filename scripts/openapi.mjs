// public/api/v1/openapi.json: the OpenAPI document, generated from the routes' declarations and the schemas
// that validate them (src/app.ts, src/lib/openapi.ts), and served as a static file.
//   npm run openapi              writes it
//   npm run openapi -- --check   fails when it is not what the routes make (test/openapi.test.ts checks too)
// The routes are TypeScript for the Worker, so they are bundled for Node first, outside the project's tree.
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const target = path.join(root, "public/api/v1/openapi.json");
const scratch = mkdtempSync(path.join(tmpdir(), "chatfunnel-openapi-"));
try {
  const outfile = path.join(scratch, "document.mjs");
  await build({
    stdin: {
      contents: `export { app, DOCUMENT_INFO } from "./src/app.ts";\nexport { openApiDocument } from "./src/lib/openapi.ts";`,
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    outfile,
    logLevel: "error",
  });
  const { app, DOCUMENT_INFO, openApiDocument } = await import(pathToFileURL(outfile).href);
  const text = `${JSON.stringify(openApiDocument(app.documented, DOCUMENT_INFO), null, 2)}\n`;
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {}
    if (current !== text) {
      console.error("public/api/v1/openapi.json is not what the routes make; run `npm run openapi`.");
      process.exitCode = 1;
    }
  } else {
    writeFileSync(target, text);
    console.log(`public/api/v1/openapi.json: ${text.length} bytes`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
