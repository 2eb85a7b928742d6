// The web chat. Starting it files the complaint (POST /chat) and keeps the
// reference and tracking token in sessionStorage, so a reload stays in the
// chat. Each message carries an id made here: a retry after a network error
// sends the same id, and the system keeps the message once. The conversation
// is the ticket's public view, polled every few seconds; nothing the customer
// or an agent wrote is ever inserted as HTML.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) { return; }
  var WAIT_MS = parseFloat(root.getAttribute("data-wait-seconds")) * 1000;
  var POLL_MS = parseFloat(root.getAttribute("data-poll-seconds")) * 1000;
  var STORE = "complaints-chat";
  var RETRY_MS = [1000, 2000, 4000, 8000, 15000];

  var $ = function (id) { return document.getElementById(id); };
  var state = load();
  var awaitingSince = null;
  var offerDismissed = false;

  function load() {
    try { return JSON.parse(window.sessionStorage.getItem(STORE)) || null; } catch (e) { return null; }
  }
  function save() {
    try { window.sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
    });
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function bubble(who, body, meta, direction) {
    var li = document.createElement("li");
    li.className = "message message-" + direction;
    var h = document.createElement("h3");
    h.textContent = who;
    if (meta) {
      var span = document.createElement("span");
      span.className = "meta";
      span.textContent = " " + meta;
      h.appendChild(span);
    }
    var p = document.createElement("p");
    p.className = "body";
    p.textContent = body;
    li.appendChild(h);
    li.appendChild(p);
    return li;
  }

  // --- starting -------------------------------------------------------------

  function showErrors(fields) {
    var list = $("start-error-list");
    var names = { body: "chat-first", email: "chat-email", phone: "chat-phone", name: "chat-name",
                  category: "chat-category", language: "chat-language" };
    list.replaceChildren.apply(list, Object.keys(fields).map(function (name) {
      var li = document.createElement("li");
      var target = names[name];
      var text = (name === "body" ? "Your message" : name.charAt(0).toUpperCase() + name.slice(1)) + ": " + fields[name];
      if (target) {
        var a = document.createElement("a");
        a.href = "#" + target;
        a.textContent = text;
        li.appendChild(a);
        $(target).setAttribute("aria-invalid", "true");
      } else {
        li.textContent = text;
      }
      return li;
    }));
    $("start-errors").hidden = false;
    $("start-errors").focus();
  }

  $("start-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var body = {};
    new FormData(form).forEach(function (value, key) { if (value !== "") { body[key] = value; } });
    if (!body.body) { showErrors({ body: "write your message first" }); return; }
    $("start-button").disabled = true;
    postJSON(root.getAttribute("data-start-url"), body).then(function (res) {
      $("start-button").disabled = false;
      if (res.status === 202) {
        state = { reference: res.data.reference, token: res.data.tracking_token,
                  trackingUrl: res.data.tracking_url, sent: [], firstBody: body.body };
        save();
        enterChat(true);
      } else if (res.status === 422) {
        showErrors(res.data.fields || { body: res.data.detail });
      } else if (res.status === 409 && res.data.error === "conflict") {
        // This chat id started another chat (sent before, then edited): a new id makes this one a chat of its own.
        form.elements.chat_id.value = newId();
        showErrors({ chat: "a chat was already started from this page with a different first message; " +
                           "press Start chat again to start this one as a new chat" });
      } else {
        showErrors({ chat: res.data.detail || "the chat could not be started; please try again" });
      }
    }).catch(function () {
      // The same chat_id on the retry: the complaint is filed once.
      $("start-button").disabled = false;
      showErrors({ chat: "we could not reach us just now; press Start chat again" });
    });
  });

  // --- the live chat ----------------------------------------------------------

  var view = null;

  function enterChat(focus) {
    $("chat-start").hidden = true;
    $("chat-live").hidden = false;
    $("chat-reference").textContent = state.reference;
    $("chat-tracking").href = "/complaints/" + encodeURIComponent(state.reference) + "?token=" + encodeURIComponent(state.token);
    render();
    if (focus) { $("live-title").focus(); }
    poll();
    state.sent.forEach(function (m) { if (!m.done) { deliver(m, 0); } });
  }

  function render() {
    var list = $("chat-messages");
    var items = [];
    var inbound = 0;
    var messages = (view && view.messages) || [];
    if (!messages.length && state.firstBody) {
      items.push(bubble("You wrote", state.firstBody, "", "in"));
      inbound = 1;
    }
    messages.forEach(function (m) {
      if (m.direction === "out") {
        items.push(bubble((m.author || "An agent") + " replied", m.body, when(m.created_at), "out"));
      } else {
        inbound += 1;
        items.push(bubble("You wrote", m.body, when(m.created_at), "in"));
      }
    });
    // Sent messages the ticket does not show yet (the first inbound one is the opening message).
    var known = Math.max(inbound - 1, 0);
    state.sent.slice(known).forEach(function (m) {
      items.push(bubble("You wrote", m.body, m.done ? "sent" : "sending…", "in"));
    });
    if (list.children.length !== items.length || list.getAttribute("data-sig") !== signature(items)) {
      list.replaceChildren.apply(list, items);
      list.setAttribute("data-sig", signature(items));
    }
    var ready = view && view.status && view.status !== "received" && view.status !== "delayed";
    $("send-button").disabled = !ready || view.status === "closed";
    $("chat-status").textContent = !ready ? "Connecting you to an agent…"
      : view.status === "closed" ? "This chat is closed."
      : "Status: " + view.status.replace(/_/g, " ") + (view.follow_up ? ". We will follow up by " + view.follow_up.channel + " at " + view.follow_up.address + "." : "");
    if (view && view.can_rate) {
      $("chat-survey-link").href = "/complaints/" + encodeURIComponent(state.reference) + "/survey?token=" +
        encodeURIComponent(state.token);
      $("chat-survey").hidden = false;
    }
    checkWaiting(messages);
  }

  function signature(items) {
    return items.map(function (li) { return li.textContent; }).join("\u0000");
  }

  function checkWaiting(messages) {
    var answered = messages.some(function (m) { return m.direction === "out"; });
    var lastOut = -1, lastIn = -1;
    messages.forEach(function (m, i) { if (m.direction === "out") { lastOut = i; } else { lastIn = i; } });
    var unanswered = !answered || lastIn > lastOut;
    if (!unanswered || (view && view.follow_up)) {
      awaitingSince = null;
      // Once the customer chose a follow-up, their confirmation stays on screen.
      if (!offerDismissed) { $("chat-offer").hidden = true; }
      return;
    }
    if (awaitingSince === null) { awaitingSince = Date.now(); }
    if (!offerDismissed && Date.now() - awaitingSince >= WAIT_MS && $("chat-offer").hidden) {
      $("chat-offer").hidden = false;
    }
  }

  function poll() {
    var url = "/complaints/" + encodeURIComponent(state.reference) + "?format=json&token=" + encodeURIComponent(state.token);
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { view = data; render(); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  function deliver(message, attempt) {
    var url = "/complaints/" + encodeURIComponent(state.reference) + "/messages?token=" + encodeURIComponent(state.token);
    postJSON(url, { body: message.body, message_id: message.id, channel: "chat" }).then(function (res) {
      if (res.status === 202) {
        message.done = true;
        save();
        render();
      } else if (res.status === 422 || (res.status === 409 && res.data.error === "conflict")) {
        // Refused for good (a 409 "conflict": its id was used for another message): retrying cannot help.
        state.sent = state.sent.filter(function (m) { return m !== message; });
        save();
        render();
        $("send-error").textContent = "Not sent: " + ((res.data.fields && res.data.fields.body) || res.data.detail);
        $("send-error").hidden = false;
      } else {
        retry(message, attempt);
      }
    }).catch(function () { retry(message, attempt); });
  }

  function retry(message, attempt) {
    // Same message id on every attempt: delivered once, however often it is sent.
    window.setTimeout(function () { deliver(message, attempt + 1); }, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
  }

  $("send-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("chat-message").value.trim();
    $("send-error").hidden = true;
    if (!text) { return; }
    var message = { id: newId(), body: text, done: false };
    state.sent.push(message);
    save();
    $("chat-message").value = "";
    awaitingSince = Date.now();
    render();
    deliver(message, 0);
  });

  $("follow-up-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(event.target);
    var url = "/complaints/" + encodeURIComponent(state.reference) + "/follow-up?token=" + encodeURIComponent(state.token);
    postJSON(url, { channel: data.get("channel"), address: data.get("address") }).then(function (res) {
      if (res.status === 200) {
        event.target.hidden = true;
        var done = $("offer-done");
        done.textContent = "Thank you. Your complaint " + state.reference + " stays open and we will follow up by " +
          (res.data.follow_up.channel === "whatsapp" ? "WhatsApp" : "email") + " at " + res.data.follow_up.address +
          ". You can close this page.";
        done.hidden = false;
        offerDismissed = true;
      } else {
        var fields = res.data.fields || {};
        $("offer-error").textContent = fields.address || fields.channel || res.data.detail || "Please try again.";
        $("offer-error").hidden = false;
      }
    }).catch(function () {
      $("offer-error").textContent = "We could not save this just now; please try again.";
      $("offer-error").hidden = false;
    });
  });

  if (state && state.reference) { enterChat(false); }
})();
