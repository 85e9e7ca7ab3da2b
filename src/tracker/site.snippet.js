(function (w, d) {
  var s = d.currentScript;
  var key = s && s.getAttribute("data-key");
  var base = s ? new URL(s.src).origin : "";
  var param = (s && s.getAttribute("data-param")) || "wa_cid";
  var days = +((s && s.getAttribute("data-days")) || 7) || 7;
  var K = "_cfcid";
  function save(id) {
    var exp = Date.now() + days * 864e5;
    d.cookie =
      K +
      "=" +
      encodeURIComponent(id) +
      ";path=/;max-age=" +
      days * 86400 +
      ";SameSite=Lax" +
      (location.protocol == "https:" ? ";Secure" : "");
    try {
      localStorage.setItem(K, JSON.stringify({ id: id, exp: exp }));
    } catch (e) {}
  }
  function load() {
    var m = d.cookie.match(new RegExp("(?:^|; )" + K + "=([^;]*)"));
    if (m) return decodeURIComponent(m[1]);
    try {
      var v = JSON.parse(localStorage.getItem(K));
      if (v && v.exp > Date.now()) return v.id;
    } catch (e) {}
    return null;
  }
  function gaId() {
    var m = d.cookie.match(/(?:^|; )_ga=GA\d\.\d\.(\d+\.\d+)/);
    return m ? m[1] : null;
  }
  // The session of GA4's own cookie (_ga_<stream>): GS1.1.<id>.… or GS2.1.s<id>$….
  function gaSession() {
    var m = d.cookie.match(/(?:^|; )_ga_[A-Za-z0-9]+=GS\d\.\d\.s?(\d+)/);
    return m ? m[1] : null;
  }
  var id = new URLSearchParams(location.search).get(param);
  if (id) save(id);
  function track(event, o) {
    o = o || {};
    var url = base + "/t/collect?k=" + encodeURIComponent(key);
    var body = JSON.stringify({
      clickId: load() || undefined,
      event: event,
      value: o.value,
      currency: o.currency,
      orderId: o.orderId,
      gaClientId: gaId() || undefined,
      gaSessionId: gaSession() || undefined,
      consent: o.consent,
    });
    // text/plain is a simple request: no CORS preflight, so the beacon survives page unloads.
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" })))) {
      fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } }).catch(
        function () {},
      );
    }
  }
  var queued = (w.chatfunnel && w.chatfunnel.q) || [];
  w.chatfunnel = { track: track, clickId: load };
  for (var i = 0; i < queued.length; i++) track.apply(null, queued[i]);
})(window, document);
