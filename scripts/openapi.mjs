// public/api/v1/openapi.json: the OpenAPI document, generated from the routes' declarations and the schemas
// that validate them (src/app.ts, src/lib/openapi.ts), and served as a static file.
//   npm run openapi              writes it
//   npm run openapi -- --check   fails when it is not what the routes make (test/openapi.test.ts checks too)
// The routes are TypeScript for the Worker, so they are bundled for Node first, outside the project's tree.
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeGenerated } from "./generated-file.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
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
  writeGenerated("public/api/v1/openapi.json", text, {
    from: "the routes and their schemas",
    command: "npm run openapi",
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
