// Knowledge-base suggestions while the customer writes (the complaint form and
// the chat's first message). A textarea with data-suggest="<region id>" is
// watched; after a pause in typing the intake is asked for matching articles,
// which are shown with "did this help?" buttons. Everything is text
// (textContent); without JavaScript, or with the knowledge base down, the form
// simply has no suggestions.
(function () {
  "use strict";
  var DELAY_MS = 600;

  function setup(textarea) {
    var region = document.getElementById(textarea.getAttribute("data-suggest"));
    if (!region) { return; }
    var list = region.querySelector("ul");
    var url = region.getAttribute("data-url");
    var timer = null;
    var lastQuery = "";
    var dismissed = {};

    function field(id) {
      var el = id && document.getElementById(id);
      return el ? el.value : "";
    }

    function feedback(article, helped, item) {
      fetch(url.replace(/\/?$/, "/") + article.id + "/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ helped: helped, query: lastQuery.slice(0, 300) })
      }).catch(function () { /* a lost answer costs nothing */ });
      var thanks = document.createElement("p");
      thanks.className = "suggestion-thanks";
      thanks.setAttribute("tabindex", "-1");
      thanks.textContent = helped
        ? "Glad it helped. You do not need to send anything, but you still can."
        : "Thanks for telling us. Carry on and send us your message.";
      item.replaceChildren(thanks);
      thanks.focus();
      if (!helped) { dismissed[article.id] = true; }
    }

    function show(items) {
      var rows = items.filter(function (a) { return !dismissed[a.id]; }).map(function (article) {
        var li = document.createElement("li");
        li.className = "suggestion";
        var h = document.createElement("h3");
        h.textContent = article.title;
        var p = document.createElement("p");
        p.className = "body";
        p.textContent = article.body;
        var ask = document.createElement("p");
        ask.className = "suggestion-actions";
        function answer(helped, text) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "secondary";
          button.textContent = text;
          // The visible words first (speech control users say them), then which article.
          button.setAttribute("aria-label", text + ": " + article.title);
          button.addEventListener("click", function () { feedback(article, helped, li); });
          return button;
        }
        var yes = answer(true, "Yes, this solved it");
        var no = answer(false, "No, I still need help");
        ask.appendChild(yes);
        ask.appendChild(document.createTextNode(" "));
        ask.appendChild(no);
        li.appendChild(h);
        li.appendChild(p);
        li.appendChild(ask);
        return li;
      });
      list.replaceChildren.apply(list, rows);
      region.hidden = rows.length === 0;
    }

    function ask() {
      var query = textarea.value.trim();
      if (query === lastQuery) { return; }
      lastQuery = query;
      if (query.length < 3) { show([]); return; }
      var params = new URLSearchParams({ q: query.slice(0, 2000) });
      var category = field(textarea.getAttribute("data-suggest-category"));
      var language = field(textarea.getAttribute("data-suggest-language"));
      if (category) { params.set("category", category); }
      if (language) { params.set("language", language); }
      fetch(url + "?" + params.toString(), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (query === lastQuery) { show(data.items || []); } })
        .catch(function () { show([]); });
    }

    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-suggest]"), setup);
})();
