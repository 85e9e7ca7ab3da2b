import { DASHBOARD_SCRIPT, DASHBOARD_STYLES, versionedUrl } from "./assets";

/** One view of the dashboard: its heading, and where the script draws it and puts its CSV downloads. */
function view(id: string, title: string, wide = false): string {
  return `<section id="${id}" class="card${wide ? " wide" : ""}" aria-labelledby="${id}-title">
<div class="card-head"><h2 id="${id}-title">${title}</h2><div class="tools"></div></div>
<div class="card-body"><p class="muted">Loading…</p></div>
</section>`;
}

/**
 * The page holds no data: the script fills it from the public API with the key the user signs in with, and
 * writes every value as text. Only the asset URLs vary, so the page is the same for everyone.
 */
export async function dashboardPage(): Promise<string> {
  const [script, styles] = await Promise.all([versionedUrl(DASHBOARD_SCRIPT), versionedUrl(DASHBOARD_STYLES)]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>chatfunnel dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${styles}">
<script src="${script}" defer></script>
</head>
<body>
<header class="top">
<h1>chatfunnel</h1>
<button type="button" id="sign-out" hidden>Sign out</button>
</header>
<main>
<section id="sign-in" class="card narrow" aria-labelledby="sign-in-title">
<h2 id="sign-in-title">Sign in</h2>
<form id="sign-in-form">
<label for="api-key">API key</label>
<input id="api-key" name="apiKey" type="password" autocomplete="off" spellcheck="false" required>
<p class="muted">A key with the <code>reports:read</code> scope. It stays in this browser tab (sessionStorage) and is sent only in the Authorization header.</p>
<button type="submit">Sign in</button>
<p id="sign-in-error" class="error" role="alert"></p>
</form>
</section>
<div id="dashboard" hidden>
<form id="filters" class="card wide" aria-label="What to show">
<fieldset id="campaigns"><legend>Campaigns <span class="muted">(none ticked: all)</span></legend><div class="choices"></div></fieldset>
<div class="fields">
<label>From <input type="date" id="from" required></label>
<label>To <input type="date" id="to" required></label>
<label>Time zone <select id="timezone"></select></label>
<button type="submit">Show</button>
</div>
<p id="status" class="muted" role="status" aria-live="polite"></p>
</form>
<div class="grid">
${view("funnel", "Funnel")}
${view("costs", "Costs and rates")}
${view("timeseries", "Reads, clicks and conversions over time", true)}
${view("retention", "Retention by weekly cohort", true)}
${view("ab", "A/B tests", true)}
${view("heatmap", "When to send", true)}
${view("countries", "Top countries")}
${view("devices", "Devices")}
${view("links", "Links", true)}
${view("audiences", "Follow-up audiences", true)}
</div>
</div>
</main>
</body>
</html>
`;
}
