// The dashboard (GET /dashboard): every number comes from the public API, called with the API key the user
// signed in with. The key lives in sessionStorage (this tab only) and travels only in the Authorization
// header, never in a URL or a cookie. Every value from the API is written as text (textContent, SVG nodes),
// never as markup.
(function () {
  "use strict";

  const KEY_STORAGE = "chatfunnel.apiKey";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const STAGES = [
    ["delivered_not_read", "Delivered, not read"],
    ["read_not_clicked", "Read, not clicked"],
    ["clicked_not_converted", "Clicked, not converted"],
    ["converted", "Converted"],
    ["limited", "Limited by Meta"],
  ];
  // Audiences are counted by paging; past this many messages a size shows as "10,000+".
  const AUDIENCE_PAGES = 10;
  const LINKS_REFRESH_MS = 20_000;

  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers: text only -------------------------------------------------------------------------

  /** An element with attributes (`text` sets textContent, `class` the class) and children (nodes or text). */
  function h(tag, attrs, ...children) {
    return build(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return build(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function build(el, attrs, children) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") el.textContent = String(value);
      else el.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return el;
  }

  // ---- Formatting -------------------------------------------------------------------------------------

  const counts = new Intl.NumberFormat("en");
  const formatCount = (n) => (n === null || n === undefined ? "–" : counts.format(n));
  const formatRate = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)} %`);
  function formatMoney(value, currency) {
    if (value === null || value === undefined) return "–";
    try {
      return new Intl.NumberFormat("en", {
        style: "currency",
        currency,
        minimumFractionDigits: 2,
        maximumFractionDigits: 4,
      }).format(value);
    } catch {
      return `${value} ${currency}`;
    }
  }
  const formatPValue = (p) => (p === null || p === undefined ? "–" : p < 0.001 ? "< 0.001" : p.toFixed(3));
  const formatRatio = (r) => (r === null || r === undefined ? "–" : `${r.toFixed(2)}×`);

  /** A cell or figure holding a number: the formatted text, and the exact value in data-value. */
  function numberEl(tag, value, text, attrs) {
    return h(tag, { ...attrs, "data-value": value === null || value === undefined ? "" : value, text });
  }

  /** Today's date (YYYY-MM-DD) in a time zone, `offsetDays` days away. */
  function localDate(timeZone, offsetDays = 0) {
    const today = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).format(new Date());
    const date = new Date(`${today}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + offsetDays);
    return date.toISOString().slice(0, 10);
  }

  // ---- The API ----------------------------------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  const apiKey = () => sessionStorage.getItem(KEY_STORAGE);

  /** `params` values may be arrays (repeated parameters, such as campaignId); empty values are left out. */
  function withQuery(path, params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null && item !== "") search.append(name, String(item));
      }
    }
    const query = search.toString();
    return query ? `${path}?${query}` : path;
  }

  async function request(path, params, accept) {
    const key = apiKey();
    if (!key) throw new ApiFailure(401, "Not signed in.");
    const res = await fetch(withQuery(path, params), {
      headers: { authorization: `Bearer ${key}`, accept },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    if (res.ok) return res;
    let message = `The API answered ${res.status}.`;
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch {
      // Not the API's error envelope: keep the status.
    }
    if (res.status === 401) signOut(message);
    throw new ApiFailure(res.status, message);
  }

  const getJson = async (path, params) => (await request(path, params, "application/json")).json();

  /** Hands CSV text to the browser as a file to save. */
  function saveCsv(text, filename) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const link = h("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  /** Downloads CSV through fetch (the key stays in a header) and hands it to the browser as a file. */
  async function downloadCsv(button, path, params, filename) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "…";
    try {
      let text = "";
      let cursor;
      // Lists (audiences) come in pages: the next cursor is in X-Next-Cursor, and each page repeats the header.
      for (let page = 0; page < 100; page++) {
        const res = await request(path, { ...params, format: "csv", cursor }, "text/csv");
        const body = await res.text();
        text += page === 0 ? body : body.slice(body.indexOf("\n") + 1);
        cursor = res.headers.get("x-next-cursor");
        if (!cursor) break;
      }
      saveCsv(text, filename);
    } catch (err) {
      showStatus(`The CSV could not be downloaded: ${err.message}`);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  function csvButton(what, path, params, filename, text = "CSV") {
    const button = h("button", { type: "button", class: "csv", "aria-label": `Download ${what} as CSV`, text });
    button.addEventListener("click", () => downloadCsv(button, path, params, filename));
    return button;
  }

  /** A CSV field as the API writes them: quoted when needed, and a leading formula character made text. */
  function csvField(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "string") return String(value);
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  /** Like csvButton, for a table built here (the links), from the rows as shown. */
  function localCsvButton(what, filename, rows) {
    const button = h("button", { type: "button", class: "csv", "aria-label": `Download ${what} as CSV`, text: "CSV" });
    button.addEventListener("click", () => {
      const text = rows()
        .map((row) => `${row.map(csvField).join(",")}\r\n`)
        .join("");
      saveCsv(text, filename);
    });
    return button;
  }

  // ---- State --------------------------------------------------------------------------------------------

  const state = { campaigns: [], filters: null, generation: 0, linksTimer: null };

  function readFilters() {
    const ticked = [...document.querySelectorAll("#campaigns input:checked")].map((input) => input.value);
    return { campaignId: ticked, from: $("from").value, to: $("to").value, timezone: $("timezone").value };
  }

  /** The campaigns a view is about: those ticked, or every campaign. */
  function chosenCampaigns(filters) {
    const ids = filters.campaignId;
    return ids.length ? state.campaigns.filter((c) => ids.includes(c.id)) : state.campaigns;
  }

  const campaignName = (id) => state.campaigns.find((c) => c.id === id)?.name ?? id ?? "–";

  function showStatus(text) {
    $("status").textContent = text;
  }

  // ---- Views: each loads its data, then draws into its card ------------------------------------------------

  function card(id) {
    const section = $(id);
    return { body: section.querySelector(".card-body"), tools: section.querySelector(".tools") };
  }

  function fill(el, ...nodes) {
    el.replaceChildren(...nodes.flat(Infinity).filter(Boolean));
  }

  /**
   * Charts are drawn for the width they get, so their text keeps the page's size on a phone as on a desktop
   * (a chart drawn wide and scaled down to a phone would shrink its labels to nothing).
   */
  function chartWidth(container, min, max) {
    return Math.round(Math.min(max, Math.max(min, container.clientWidth || max)));
  }

  function table(head, rows, attrs) {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        attrs,
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            head.map((label) => h("th", { scope: "col", text: label })),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  const STEP_LABELS = {
    sent: "Sent",
    delivered: "Delivered",
    read: "Read",
    clicked: "Clicked",
    converted: "Converted",
  };

  function drawFunnel(report, filters) {
    const { body, tools } = card("funnel");
    const max = Math.max(1, ...report.steps.map((s) => s.count));
    const rowHeight = 40;
    const width = chartWidth(body, 320, 560);
    const chart = svg(
      "svg",
      {
        viewBox: `0 0 ${width} ${report.steps.length * rowHeight}`,
        class: "chart funnel-chart",
        role: "img",
        "aria-label": report.steps.map((s) => `${STEP_LABELS[s.name]} ${s.count}`).join(", "),
      },
      report.steps.map((step, i) => {
        const barWidth = Math.max(2, (step.count / max) * (width - 230));
        const y = i * rowHeight;
        return svg(
          "g",
          {},
          svg("text", { x: 0, y: y + 24, class: "label", text: STEP_LABELS[step.name] }),
          svg("rect", { x: 90, y: y + 6, width: barWidth, height: rowHeight - 12, rx: 3, class: `bar step-${i}` }),
          svg("text", {
            x: 96 + barWidth,
            y: y + 24,
            class: "value",
            text: `${formatCount(step.count)} · ${formatRate(step.rateFromFirst)}`,
          }),
        );
      }),
    );
    const rows = report.steps.map((s) =>
      h(
        "tr",
        { "data-step": s.name },
        h("th", { scope: "row", text: STEP_LABELS[s.name] }),
        numberEl("td", s.count, formatCount(s.count), { class: "num", "data-field": "count" }),
        numberEl("td", s.inferred ?? 0, formatCount(s.inferred ?? 0), { class: "num", "data-field": "inferred" }),
        numberEl("td", s.rateFromPrevious, formatRate(s.rateFromPrevious), {
          class: "num",
          "data-field": "rateFromPrevious",
        }),
        numberEl("td", s.rateFromFirst, formatRate(s.rateFromFirst), { class: "num", "data-field": "rateFromFirst" }),
      ),
    );
    const outcomes = report.outcomes;
    fill(
      body,
      chart,
      table(["Step", "Messages", "Inferred", "From previous", "From sent"], rows, { id: "funnel-table" }),
      h(
        "p",
        { class: "outcomes" },
        "Not delivered: ",
        numberEl("strong", outcomes.limited, formatCount(outcomes.limited), { id: "outcome-limited" }),
        " limited by Meta (retry later), ",
        numberEl("strong", outcomes.experiment, formatCount(outcomes.experiment), { id: "outcome-experiment" }),
        " in Meta's experiment, ",
        numberEl("strong", outcomes.failed, formatCount(outcomes.failed), { id: "outcome-failed" }),
        " failed otherwise.",
      ),
      h(
        "p",
        { class: "muted" },
        `Clicks and conversions within ${report.window} of the send. Revenue ${counts.format(report.revenue)}.`,
      ),
    );
    fill(tools, csvButton("the funnel", "/api/v1/reports/funnel", filters, "funnel.csv"));
  }

  function figure(id, label, value, text) {
    return h("div", { class: "figure" }, h("dt", { text: label }), numberEl("dd", value, text, { id }));
  }

  function drawCosts(metrics, filters) {
    const { body, tools } = card("costs");
    const cost = metrics.cost;
    const money = (v) => (cost ? formatMoney(v, cost.currency) : "–");
    const costFigures = cost
      ? [
          figure("cost-total", "Cost", cost.total, money(cost.total)),
          figure("cost-per-delivered", "Per delivered", cost.perDelivered, money(cost.perDelivered)),
          figure("cost-per-click", "Per click", cost.perClick, money(cost.perClick)),
          figure("cost-per-conversion", "Per conversion", cost.perConversion, money(cost.perConversion)),
          figure("cost-roas", "ROAS", cost.roas, formatRatio(cost.roas)),
        ]
      : [];
    fill(
      body,
      cost
        ? null
        : h("p", {
            class: "muted",
            id: "no-rate-card",
            text: "No rate card: set the workspace's rateCard to see costs.",
          }),
      h(
        "dl",
        { class: "figures" },
        costFigures,
        figure("revenue", "Revenue", metrics.revenue, counts.format(metrics.revenue)),
        figure("delivery-rate", "Delivered", metrics.deliveryRate, formatRate(metrics.deliveryRate)),
        figure("open-rate", "Read / delivered", metrics.openRate, formatRate(metrics.openRate)),
        figure("click-rate", "Clicked / delivered", metrics.clickThroughRate, formatRate(metrics.clickThroughRate)),
        figure("conversion-rate", "Converted / delivered", metrics.conversionRate, formatRate(metrics.conversionRate)),
        figure("limited-rate", "Limited by Meta", metrics.limitedRate, formatRate(metrics.limitedRate)),
        figure("response-rate", "Replied", metrics.responseRate, formatRate(metrics.responseRate)),
      ),
    );
    fill(tools, csvButton("the metrics", "/api/v1/reports/metrics", filters, "metrics.csv"));
  }

  const SERIES = [
    ["read", "Reads", "series-0"],
    ["clicks", "Clicks", "series-1"],
    ["conversions", "Conversions", "series-2"],
  ];

  function drawTimeseries(series, filters) {
    const { body, tools } = card("timeseries");
    const points = series[0].points;
    const width = chartWidth(body, 320, 1200);
    const height = 220;
    const pad = { left: 44, right: 10, top: 10, bottom: 28 };
    const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.value)));
    const x = (i) => pad.left + (points.length > 1 ? (i / (points.length - 1)) * (width - pad.left - pad.right) : 0);
    const y = (v) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
    const day = (p) => (p ? p.start.slice(0, 10) : "");
    const summary = SERIES.map(([, label], i) => `${label}: ${series[i].points.reduce((a, p) => a + p.value, 0)}`);
    const chart = svg(
      "svg",
      {
        viewBox: `0 0 ${width} ${height}`,
        class: "chart",
        role: "img",
        "aria-label": `Per day. ${summary.join(", ")}`,
      },
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: "axis" }),
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y(max), y2: y(max), class: "grid-line" }),
      svg("text", { x: pad.left - 6, y: y(max) + 4, class: "tick end", text: formatCount(max) }),
      svg("text", { x: pad.left - 6, y: y(0) + 4, class: "tick end", text: "0" }),
      svg("text", { x: pad.left, y: height - 8, class: "tick", text: day(points[0]) }),
      svg("text", { x: width - pad.right, y: height - 8, class: "tick end", text: day(points.at(-1)) }),
      SERIES.map(([, label, cls], i) =>
        svg(
          "polyline",
          { class: `line ${cls}`, points: series[i].points.map((p, j) => `${x(j)},${y(p.value)}`).join(" ") },
          svg("title", { text: label }),
        ),
      ),
    );
    const legend = h(
      "ul",
      { class: "legend" },
      SERIES.map(([, label, cls], i) => h("li", { class: cls }, h("span", { class: "swatch" }), summary[i])),
    );
    fill(body, points.length ? [chart, legend] : h("p", { class: "muted", text: "Nothing in this range." }));
    fill(
      tools,
      SERIES.map(([metric, label]) =>
        csvButton(
          `${label.toLowerCase()} per day`,
          "/api/v1/reports/timeseries",
          { ...filters, metric, interval: "day" },
          `${metric}-per-day.csv`,
          `${label} CSV`,
        ),
      ),
    );
  }

  /** A cell whose background shows a share from 0 to 1 (CSSOM, which the page's CSP allows). */
  function shadeCell(td, share) {
    td.style.backgroundColor = `rgba(37, 99, 235, ${Math.min(1, Math.max(0, share)).toFixed(3)})`;
    if (share > 0.55) td.classList.add("on-dark");
    return td;
  }

  function drawRetention(report, filters, params) {
    const { body, tools } = card("retention");
    const periods = Math.max(0, ...report.cohorts.map((c) => c.values.length));
    const head = ["Cohort", "Size", ...Array.from({ length: periods }, (_, i) => (i === 0 ? "Week 0" : `+${i}`))];
    const rows = report.cohorts.map((cohort) =>
      h(
        "tr",
        {},
        h("th", { scope: "row", text: cohort.start.slice(0, 10) }),
        numberEl("td", cohort.size, formatCount(cohort.size), { class: "num" }),
        Array.from({ length: periods }, (_, i) => {
          const v = cohort.values[i];
          if (!v) return h("td", { class: "empty" });
          const td = numberEl("td", v.rate, formatRate(v.rate), {
            class: `num heat${v.inProgress ? " in-progress" : ""}`,
            title: `${formatCount(v.count)} of ${formatCount(cohort.size)}${v.inProgress ? " (so far)" : ""}`,
          });
          return shadeCell(td, v.rate);
        }),
      ),
    );
    const average = h(
      "tr",
      { class: "average" },
      h("th", { scope: "row", text: "Average" }),
      h("td"),
      Array.from({ length: periods }, (_, i) => {
        const a = report.average[i];
        return numberEl("td", a ? a.rate : null, formatRate(a ? a.rate : null), { class: "num" });
      }),
    );
    fill(
      body,
      report.cohorts.length
        ? [
            table(head, [...rows, average], { class: "heatmap-table" }),
            h("p", {
              class: "muted",
              text: "Contacts by the week of their first message; the share that came back (click, reply or conversion) in each later week. Italic: week not over.",
            }),
          ]
        : h("p", { class: "muted", text: "No cohorts in this range." }),
    );
    fill(
      tools,
      csvButton("the retention matrix", "/api/v1/reports/retention", { ...filters, ...params }, "retention.csv"),
    );
  }

  function drawAb(reports, filters, metric) {
    const { body, tools } = card("ab");
    const select = h(
      "select",
      { id: "ab-metric", "aria-label": "A/B metric" },
      h("option", { value: "conversion", text: "Conversions", selected: metric === "conversion" }),
      h("option", { value: "click", text: "Clicks", selected: metric === "click" }),
    );
    // Redrawing replaces the select: keep the keyboard where it was.
    select.addEventListener("change", () =>
      loadAb(state.filters, state.generation, select.value).then(() => $("ab-metric")?.focus()),
    );
    fill(tools, h("label", { class: "inline" }, "Metric ", select));
    if (!reports.length) {
      fill(body, h("p", { class: "muted", text: "None of these campaigns has two variants or more." }));
      return;
    }
    fill(
      body,
      reports.map(({ campaign, report }) =>
        h(
          "div",
          { class: "ab-campaign" },
          h(
            "div",
            { class: "sub-head" },
            h("h3", { text: campaign.name }),
            csvButton(
              `the A/B test of ${campaign.name}`,
              "/api/v1/reports/ab",
              { ...filters, campaignId: campaign.id, metric },
              `ab-${campaign.id}.csv`,
            ),
          ),
          table(
            ["Variant", "Messages", "Clicks", "Conversions", "Rate", "Uplift", "p-value", "Significant", "Cost"],
            report.variants.map((v) =>
              h(
                "tr",
                { class: v.significant ? "significant" : "" },
                h("th", { scope: "row", text: v.variant }),
                numberEl("td", v.messages, formatCount(v.messages), { class: "num" }),
                numberEl("td", v.clicks, formatCount(v.clicks), { class: "num" }),
                numberEl("td", v.conversions, formatCount(v.conversions), { class: "num" }),
                numberEl("td", v.rate, formatRate(v.rate), { class: "num" }),
                numberEl(
                  "td",
                  v.uplift,
                  v.uplift === null ? "–" : `${v.uplift >= 0 ? "+" : ""}${(v.uplift * 100).toFixed(1)} %`,
                  { class: "num" },
                ),
                numberEl("td", v.pValue, formatPValue(v.pValue), { class: "num" }),
                h("td", { text: v.significant ? "Yes (95 %)" : "No" }),
                numberEl(
                  "td",
                  v.cost ? v.cost.total : null,
                  v.cost ? formatMoney(v.cost.total, v.cost.currency) : "–",
                  { class: "num" },
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function drawHeatmap(report, filters) {
    const { body, tools } = card("heatmap");
    const left = 36;
    const cell = Math.max(11, Math.floor((chartWidth(body, 320, 760) - left) / 24));
    const top = 18;
    const max = Math.max(1, ...report.cells.map((c) => c.value));
    const unit = report.metric === "read" ? "messages read" : "clicks";
    const best = report.cells.reduce((a, c) => (c.value > a.value ? c : a), report.cells[0]);
    const chart = svg(
      "svg",
      {
        viewBox: `0 0 ${left + 24 * cell} ${top + 7 * cell}`,
        class: "chart heatmap",
        role: "img",
        "aria-label":
          best && best.value > 0
            ? `Most ${unit}: ${WEEKDAYS[best.weekday]} ${best.hour}:00 (${best.value})`
            : `No ${unit}`,
      },
      [0, 6, 12, 18].map((hour) =>
        svg("text", { x: left + hour * cell + 2, y: 12, class: "tick", text: `${hour}:00` }),
      ),
      WEEKDAYS.map((day, d) => svg("text", { x: 0, y: top + d * cell + cell / 2 + 4, class: "tick", text: day })),
      report.cells.map((c) => {
        const rect = svg(
          "rect",
          {
            x: left + c.hour * cell + 1,
            y: top + c.weekday * cell + 1,
            width: cell - 2,
            height: cell - 2,
            rx: 3,
            class: c.value ? "cell" : "cell empty",
            "fill-opacity": c.value ? (0.15 + 0.85 * (c.value / max)).toFixed(3) : null,
          },
          svg("title", { text: `${WEEKDAYS[c.weekday]} ${c.hour}:00–${c.hour + 1}:00: ${c.value} ${unit}` }),
        );
        return rect;
      }),
    );
    const select = h(
      "select",
      { id: "heatmap-metric", "aria-label": "Heatmap metric" },
      h("option", { value: "read", text: "Reads, by the hour sent", selected: report.metric === "read" }),
      h("option", { value: "clicks", text: "Clicks, by the hour clicked", selected: report.metric === "clicks" }),
    );
    select.addEventListener("change", () =>
      loadHeatmap(state.filters, state.generation, select.value).then(() => $("heatmap-metric")?.focus()),
    );
    fill(
      body,
      chart,
      h(
        "p",
        { class: "muted" },
        best && best.value > 0
          ? `Busiest hour: ${WEEKDAYS[best.weekday]} ${best.hour}:00–${best.hour + 1}:00 (${formatCount(best.value)} ${unit}), in ${report.timezone}.`
          : `No ${unit} in this range.`,
      ),
    );
    fill(
      tools,
      h("label", { class: "inline" }, "Show ", select),
      csvButton(
        "the send-time heatmap",
        "/api/v1/reports/heatmap",
        { ...filters, metric: report.metric },
        `heatmap-${report.metric}.csv`,
      ),
    );
  }

  function drawBreakdown(id, report, filters, what) {
    const { body, tools } = card(id);
    const max = Math.max(1, ...report.rows.map((r) => r.count));
    fill(
      body,
      report.rows.length
        ? table(
            [what, "Clicks", ""],
            report.rows.map((r) => {
              const bar = h("span", { class: "hbar" });
              bar.style.width = `${((r.count / max) * 100).toFixed(1)}%`;
              return h(
                "tr",
                {},
                h("th", { scope: "row", text: r.key ?? "Unknown" }),
                numberEl("td", r.count, formatCount(r.count), { class: "num" }),
                h("td", { class: "bar-cell" }, bar),
              );
            }),
          )
        : h("p", { class: "muted", text: "No clicks in this range." }),
    );
    fill(
      tools,
      csvButton(
        `clicks by ${report.dimension}`,
        "/api/v1/reports/breakdown",
        { ...filters, dimension: report.dimension, metric: "clicks" },
        `clicks-by-${report.dimension}.csv`,
      ),
    );
  }

  const LINK_COLUMNS = [
    "code",
    "campaign",
    "variant",
    "clicks",
    "uniqueClicks",
    "previews",
    "bots",
    "conversions",
    "revenue",
  ];

  const LINK_HEAD = ["Link", "Campaign", "Variant", "Clicks", "Unique", "Previews", "Bots", "Conversions", "Revenue"];

  /** A long table in a box of its own height that scrolls, and that the keyboard can scroll too. */
  function scrollBox(label, content) {
    return h("div", { class: "scroll-box", tabindex: 0, role: "region", "aria-label": label }, content);
  }

  function drawLinks(unsorted) {
    const { body, tools } = card("links");
    // Most clicked first: a broadcast has a link per recipient, and the ones that work are what matters.
    const links = [...unsorted].sort((a, b) => b.clicks - a.clicks || b.conversions - a.conversions);
    const rows = links.map((l) =>
      h(
        "tr",
        { "data-code": l.code },
        h(
          "th",
          { scope: "row" },
          h("code", { text: l.code }),
          l.disabled ? h("span", { class: "tag", text: "disabled" }) : null,
        ),
        h("td", { text: campaignName(l.campaignId) }),
        h("td", { text: l.variant ?? "–" }),
        ...["clicks", "uniqueClicks", "previews", "bots", "conversions"].map((f) =>
          numberEl("td", l[f], formatCount(l[f]), { class: "num", "data-field": f }),
        ),
        numberEl("td", l.revenue, counts.format(l.revenue), { class: "num", "data-field": "revenue" }),
      ),
    );
    const scrolled = body.querySelector(".scroll-box")?.scrollTop ?? 0;
    fill(
      body,
      links.length
        ? scrollBox("Links", table(LINK_HEAD, rows, { id: "links-table" }))
        : h("p", { class: "muted", text: "No links." }),
      h("p", { class: "muted", text: `Live counters, all time; updated ${new Date().toLocaleTimeString("en-GB")}.` }),
    );
    // A refresh keeps the reader's place in the list.
    const box = body.querySelector(".scroll-box");
    if (box) box.scrollTop = scrolled;
    fill(
      tools,
      localCsvButton("the links", "links.csv", () => [
        LINK_COLUMNS,
        ...links.map((l) => LINK_COLUMNS.map((c) => (c === "campaign" ? l.campaignId : l[c]))),
      ]),
    );
  }

  function drawAudiences(sizes) {
    const { body } = card("audiences");
    if (!sizes.length) {
      fill(body, h("p", { class: "muted", text: "No campaigns yet." }));
      return;
    }
    fill(
      body,
      table(
        ["Campaign", ...STAGES.map(([, label]) => label)],
        sizes.map(({ campaign, stages }) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", text: campaign.name }),
            stages.map(({ stage, size, more }) => {
              const text = `${formatCount(size)}${more ? "+" : ""}`;
              const label = STAGES.find(([s]) => s === stage)[1];
              const td = numberEl("td", size, "", { class: "num", "data-stage": stage });
              const button = csvButton(
                `the audience ${label} of ${campaign.name}`,
                "/api/v1/audiences",
                { campaignId: campaign.id, stage, limit: 1000 },
                `audience-${campaign.id}-${stage}.csv`,
                text,
              );
              button.classList.add("link-like");
              td.append(button);
              return td;
            }),
          ),
        ),
      ),
      h("p", {
        class: "muted",
        text: "Messages of each campaign at each stage now (whatever the range), without contacts who opted out. Each count downloads its list as CSV, with your externalId.",
      }),
    );
  }

  // ---- Loading ------------------------------------------------------------------------------------------

  /** Runs one view's load; a failure is shown in that view only. Stale answers (the filters changed) are dropped. */
  async function loadView(id, generation, load) {
    try {
      const draw = await load();
      if (generation === state.generation) draw();
    } catch (err) {
      if (generation !== state.generation) return;
      fill(card(id).body, h("p", { class: "error", role: "alert", text: err.message || String(err) }));
    }
  }

  function loadAb(filters, generation, metric = "conversion") {
    return loadView("ab", generation, async () => {
      const tested = chosenCampaigns(filters).filter((c) => c.variants.length >= 2);
      const reports = await Promise.all(
        tested.map(async (campaign) => ({
          campaign,
          report: await getJson("/api/v1/reports/ab", { ...filters, campaignId: campaign.id, metric }),
        })),
      );
      return () => drawAb(reports, filters, metric);
    });
  }

  function loadHeatmap(filters, generation, metric = "read") {
    return loadView("heatmap", generation, async () => {
      const report = await getJson("/api/v1/reports/heatmap", { ...filters, metric });
      return () => drawHeatmap(report, filters);
    });
  }

  async function loadLinks(filters, generation) {
    return loadView("links", generation, async () => {
      const ids = filters.campaignId.length ? filters.campaignId : [undefined];
      const lists = await Promise.all(ids.map((campaignId) => getJson("/api/v1/links", { campaignId, limit: 100 })));
      return () => drawLinks(lists.flatMap((l) => l.links));
    });
  }

  /** How many messages an audience holds now, counted page by page (up to AUDIENCE_PAGES pages). */
  async function audienceSize(campaignId, stage) {
    let size = 0;
    let cursor;
    for (let page = 0; page < AUDIENCE_PAGES; page++) {
      const list = await getJson("/api/v1/audiences", { campaignId, stage, limit: 1000, cursor });
      size += list.messages.length;
      cursor = list.nextCursor;
      if (!cursor) return { stage, size, more: false };
    }
    return { stage, size, more: true };
  }

  function loadAll() {
    const filters = readFilters();
    state.filters = filters;
    const generation = ++state.generation;
    for (const section of document.querySelectorAll("#dashboard .card-body")) {
      section.setAttribute("aria-busy", "true");
    }
    showStatus("Loading…");
    const retentionParams = { period: "week", periods: 8, start: "message", returnOn: "any" };
    const views = [
      loadView("funnel", generation, async () => {
        const report = await getJson("/api/v1/reports/funnel", filters);
        return () => {
          drawFunnel(report, filters);
          showStatus(
            `Up to date as of ${new Date(report.asOf).toLocaleString("en-GB", { timeZone: filters.timezone })} (${filters.timezone}).`,
          );
        };
      }),
      loadView("costs", generation, async () => {
        const metrics = await getJson("/api/v1/reports/metrics", filters);
        return () => drawCosts(metrics, filters);
      }),
      loadView("timeseries", generation, async () => {
        const series = await Promise.all(
          SERIES.map(([metric]) => getJson("/api/v1/reports/timeseries", { ...filters, metric, interval: "day" })),
        );
        return () => drawTimeseries(series, filters);
      }),
      loadView("retention", generation, async () => {
        const report = await getJson("/api/v1/reports/retention", { ...filters, ...retentionParams });
        return () => drawRetention(report, filters, retentionParams);
      }),
      loadAb(filters, generation),
      loadHeatmap(filters, generation),
      ...[
        ["countries", "country", "Country"],
        ["devices", "device", "Device"],
      ].map(([id, dimension, what]) =>
        loadView(id, generation, async () => {
          const report = await getJson("/api/v1/reports/breakdown", {
            ...filters,
            dimension,
            metric: "clicks",
            limit: 10,
          });
          return () => drawBreakdown(id, report, filters, what);
        }),
      ),
      loadLinks(filters, generation),
      loadView("audiences", generation, async () => {
        const sizes = await Promise.all(
          chosenCampaigns(filters)
            .slice(0, 20)
            .map(async (campaign) => ({
              campaign,
              stages: await Promise.all(STAGES.map(([stage]) => audienceSize(campaign.id, stage))),
            })),
        );
        return () => drawAudiences(sizes);
      }),
    ];
    return Promise.all(views).then(() => {
      if (generation !== state.generation) return;
      for (const section of document.querySelectorAll("#dashboard .card-body")) section.removeAttribute("aria-busy");
      document.body.dataset.loaded = String(generation);
    });
  }

  async function loadCampaigns() {
    const campaigns = [];
    let cursor;
    for (let page = 0; page < 10; page++) {
      const list = await getJson("/api/v1/campaigns", { limit: 1000, cursor });
      campaigns.push(...list.campaigns);
      cursor = list.nextCursor;
      if (!cursor) break;
    }
    state.campaigns = campaigns;
    const choices = document.querySelector("#campaigns .choices");
    fill(
      choices,
      campaigns.length
        ? campaigns.map((c) =>
            h(
              "label",
              { class: "choice" },
              h("input", { type: "checkbox", name: "campaignId", value: c.id }),
              ` ${c.name}`,
              c.variants.length ? h("span", { class: "muted", text: ` (${c.variants.join(", ")})` }) : null,
            ),
          )
        : h("span", { class: "muted", text: "No campaigns yet." }),
    );
  }

  function fillTimeZones() {
    const select = $("timezone");
    const own = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    const names = ["UTC", ...zones.filter((z) => z !== "UTC")];
    if (!names.includes(own)) names.push(own);
    fill(
      select,
      names.map((zone) => h("option", { value: zone, text: zone, selected: zone === own })),
    );
    const to = localDate(own);
    $("to").value = to;
    $("from").value = localDate(own, -29);
  }

  // ---- Signing in and out ---------------------------------------------------------------------------------

  async function showDashboard() {
    $("sign-in").hidden = true;
    $("dashboard").hidden = false;
    $("sign-out").hidden = false;
    await loadCampaigns();
    await loadAll();
    clearInterval(state.linksTimer);
    // Redrawing the links would take the keyboard's focus away: while it is in there, the counters wait.
    state.linksTimer = setInterval(() => {
      const busy = $("links").contains(document.activeElement);
      if (document.visibilityState === "visible" && state.filters && !busy) loadLinks(state.filters, state.generation);
    }, LINKS_REFRESH_MS);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    clearInterval(state.linksTimer);
    state.generation++;
    $("dashboard").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
    $("api-key").value = "";
    $("api-key").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    $("sign-in-error").textContent = "";
    try {
      await showDashboard();
    } catch (err) {
      if (apiKey()) signOut(err.message);
    }
  }

  function start() {
    fillTimeZones();
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut(""));
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      loadAll();
    });
    if (apiKey()) showDashboard().catch((err) => signOut(err.message));
    else $("api-key").focus();
  }

  start();
})();
