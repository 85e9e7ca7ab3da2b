// A customer's web site for the browser tests: a node:http server on 127.0.0.1 (its own origin, apart from
// the service's) that serves the HTML pages it is given and answers 404 to everything else.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Site {
  origin: string;
  close(): Promise<void>;
}

/** `pages` maps a path (without the query) to its HTML; it is asked on every request. */
export function startSite(pages: (pathname: string) => string | undefined): Promise<Site> {
  const server = createServer((req, res) => {
    const html = pages(new URL(req.url ?? "/", "http://site").pathname);
    if (req.method !== "GET" || html === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

/**
 * A page as a customer would write it: the snippet tag from the service origin, with `head` (say, an
 * inline script) before it. The page shows the click id the snippet holds once the snippet has run.
 */
export function sitePage(opts: { title: string; body: string; snippetSrc: string; key: string; head?: string }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(opts.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:.1rem .3rem}</style>
${opts.head ?? ""}
<script src="${escape(opts.snippetSrc)}" data-key="${escape(opts.key)}" async onload="document.getElementById('cid').textContent = chatfunnel.clickId() || '(none)'"></script>
</head>
<body>
<h1>${escape(opts.title)}</h1>
${opts.body}
<p>chatfunnel click id: <code id="cid">(snippet not loaded)</code></p>
</body>
</html>
`;
}
