// Live conversation on the ticket page of an open chat: polls the
// conversation and redraws it when a message arrived. Text is set with
// textContent, never as HTML, so nothing a customer typed can run here.
(function () {
  "use strict";
  var list = document.getElementById("conversation");
  if (!list) { return; }
  var seconds = parseFloat(list.getAttribute("data-poll") || "0");
  if (!(seconds > 0)) { return; }
  var count = parseInt(list.getAttribute("data-count") || "0", 10);

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? (iso || "") : d.toLocaleString();
  }

  function render(messages) {
    var items = messages.map(function (m) {
      var li = document.createElement("li");
      li.className = "message message-" + (m.direction === "out" ? "out" : "in");
      var h = document.createElement("h3");
      h.textContent = m.direction === "out" ? "Reply by " + (m.author || "an agent") : "Customer wrote";
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " by " + m.channel + " on " + when(m.created_at);
      h.appendChild(meta);
      var p = document.createElement("p");
      p.className = "body";
      p.textContent = m.body;
      li.appendChild(h);
      li.appendChild(p);
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function poll() {
    fetch(list.getAttribute("data-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.messages && data.messages.length !== count) {
          count = data.messages.length;
          render(data.messages);
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }
  window.setTimeout(poll, seconds * 1000);
})();
