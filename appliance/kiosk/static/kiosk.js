// The counter's screen: renders the state the appliance pushes over a localhost WebSocket,
// sends the clerk's commands back, and draws the media frames it receives (raw I420 video,
// 16-bit PCM audio). It never talks to the hub and holds no credential.
"use strict";

(function () {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang;
  const HEADER = 20; // appliance/feed.py: magic, kind, stream, width, height, sequence, time
  const kiosk = (window.bvKiosk = {
    state: null, socket: null, frames: { citizen: 0, self: 0 }, audioFrames: 0,
    drawMs: { citizen: 0, self: 0 }, // time spent drawing, for measurements
    // Set by measurements: called after each frame with (stream, canvas, the unix time in ms
    // at which the appliance forwarded it).
    onDrawn: null,
  });
  let nextId = 1;
  const pending = new Map();
  let seenWaiting = null; // appointments already announced
  let timer = null;
  let audio = null;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
  }

  function serviceName(service) {
    return (lang === "en" ? service.name_en : service.name_de) || service.id;
  }

  function documents(service) {
    return (lang === "en" ? service.documents_en : service.documents_de) || [];
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  // A state message comes for any change anywhere (a call's quality, a device check, the day,
  // payments news: several a second when busy). The lists keep each entry's node for as long
  // as what it shows is the same, so a message never replaces the button under the clerk's
  // finger, closes a form they opened or drops what they typed. `entries`: [key, build] pairs,
  // the key a string of everything the built node shows; returns the nodes in order.
  const drawn = new WeakMap(); // container → Map(key → node)

  function keep(container, entries) {
    const before = drawn.get(container) || new Map();
    const after = new Map();
    const nodes = entries.map(([key, build]) => {
      let unique = key;
      for (let n = 1; after.has(unique); n++) unique = `${key}#${n}`;
      const node = before.get(unique) || build();
      after.set(unique, node);
      return node;
    });
    drawn.set(container, after);
    // Move only what moved (a node moved loses the focus), then drop what is gone.
    nodes.forEach((node, i) => {
      const there = container.childNodes[i];
      if (there !== node) container.insertBefore(node, there || null);
    });
    while (container.childNodes.length > nodes.length) container.lastChild.remove();
    return nodes;
  }

  function unkeep(container) {
    drawn.delete(container);
    container.replaceChildren();
  }

  const keyOf = (...parts) => JSON.stringify(parts);

  // --- the socket ---

  function connect() {
    const socket = new WebSocket(`ws://${location.host}/ws`);
    socket.binaryType = "arraybuffer";
    kiosk.socket = socket;
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return media(event.data);
      const message = JSON.parse(event.data);
      if (message.type === "state") render(message.state);
      else if (message.type === "reply" && pending.has(message.id)) {
        pending.get(message.id)(message);
        pending.delete(message.id);
      }
    };
    socket.onclose = () => {
      kiosk.socket = null;
      for (const resolve of pending.values()) resolve({ ok: false, error: { code: "appliance_gone" } });
      pending.clear();
      kiosk.state = null; // whatever comes after reconnecting is drawn afresh
      for (const name of ["hub", "camera", "microphone", "scanner"]) chip(name, "absent", T.device_unknown);
      document.body.dataset.screen = "connecting";
      showScreen("connecting");
      $("appliance-gone").textContent = T.appliance_gone;
      $("appliance-gone").hidden = false;
      setTimeout(connect, 1000);
    };
    socket.onopen = () => { $("appliance-gone").hidden = true; };
  }

  function send(cmd, args) {
    return new Promise((resolve) => {
      if (!kiosk.socket || kiosk.socket.readyState !== WebSocket.OPEN) {
        return resolve({ ok: false, error: { code: "appliance_gone" } });
      }
      const id = nextId++;
      pending.set(id, resolve);
      kiosk.socket.send(JSON.stringify({ id, cmd, ...(args || {}) }));
    });
  }

  function errorText(error) {
    const code = (error && error.code) || "other";
    if (code === "appliance_gone") return T.appliance_gone;
    return T["error_" + code] || fill(T.error_other, { message: (error && error.message) || code });
  }

  function showError(node, reply) {
    node.textContent = reply.ok ? "" : errorText(reply.error);
    node.hidden = reply.ok;
  }

  // --- media ---

  function media(buffer) {
    const view = new DataView(buffer);
    if (view.getUint8(0) !== 0x42 || view.getUint8(1) !== 0x56) return;
    const kind = view.getUint8(2), stream = view.getUint8(3);
    const width = view.getUint16(4, true), height = view.getUint16(6, true);
    if (kind === 1) {
      try {
        drawVideo(buffer, stream, width, height, view.getUint32(8, true), view.getFloat64(12, true));
      } finally {
        // The appliance sends the next frame only when this one is done: nothing piles up.
        if (kiosk.socket) kiosk.socket.send("drawn");
      }
    }
    else if (kind === 2) playAudio(buffer, width, height);
  }

  function drawVideo(buffer, stream, width, height, sequence, forwardedAt) {
    const started = performance.now();
    const canvas = stream === 0 ? $("citizen-video") : $("self-video");
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const frame = new VideoFrame(new Uint8Array(buffer, HEADER), {
      format: "I420", codedWidth: width, codedHeight: height, timestamp: sequence,
      // VP8 and H.264 from browsers and cameras are BT.601 limited range (Chromium would
      // otherwise assume BT.709 for raw frames: greens turn dull).
      colorSpace: { primaries: "smpte170m", transfer: "smpte170m", matrix: "smpte170m", fullRange: false },
    });
    canvas.getContext("2d").drawImage(frame, 0, 0);
    frame.close();
    const name = stream === 0 ? "citizen" : "self";
    kiosk.frames[name] += 1;
    kiosk.drawMs[name] += performance.now() - started;
    if (kiosk.onDrawn) kiosk.onDrawn(name, canvas, forwardedAt * 1000);
  }

  async function startAudio() {
    if (audio) return audio.context.state === "suspended" ? audio.context.resume() : undefined;
    const context = new AudioContext({ latencyHint: "interactive", sampleRate: 48000 });
    audio = { context, node: null };
    await context.audioWorklet.addModule("/static/pcm-player.js");
    audio.node = new AudioWorkletNode(context, "pcm-player", { outputChannelCount: [1] });
    audio.node.connect(context.destination);
  }

  function playAudio(buffer, rate, channels) {
    kiosk.audioFrames += 1;
    if (!audio || !audio.node || rate !== audio.context.sampleRate) return;
    const samples = new Int16Array(buffer.slice(HEADER));
    const mono = new Float32Array(samples.length / channels);
    for (let i = 0; i < mono.length; i++) mono[i] = samples[i * channels] / 32768;
    audio.node.port.postMessage(mono, [mono.buffer]);
  }

  function chime() {
    if (!audio) return;
    const { context } = audio;
    [660, 880].forEach((hz, i) => {
      const tone = context.createOscillator(), gain = context.createGain();
      tone.frequency.value = hz;
      gain.gain.setValueAtTime(0.2, context.currentTime + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + i * 0.18 + 0.16);
      tone.connect(gain).connect(context.destination);
      tone.start(context.currentTime + i * 0.18);
      tone.stop(context.currentTime + i * 0.18 + 0.17);
    });
  }

  // --- rendering ---

  function showScreen(name) {
    for (const section of document.querySelectorAll(".screen")) {
      section.hidden = section.id !== "screen-" + name;
    }
  }

  function render(state) {
    const before = kiosk.state;
    kiosk.state = state;
    const screen = state.screen;
    if (!before || before.screen !== screen) {
      showScreen(screen);
      document.body.dataset.screen = screen;
      const heading = document.querySelector(`#screen-${screen} h1`);
      if (heading && before) $("announce").textContent = heading.textContent;
      const first = { sign_in: "username", locked: "unlock-pin" }[screen];
      if (first) $(first).focus();
    }
    renderStatus(state);
    if (state.lobby && state.lobby.waiting) renderLobby(state);
    renderDay(state.day || []);
    renderCall(state.call, state);
    renderDocuments(state);
    renderFees(state);
    renderOutcome(state.record);
    renderEnrolment(state.enrolment);
    renderIdentify(state.identify);
    if (screen === "locked" || screen === "sign_in") forget();
    if (screen === "locked") {
      $("locked-who").textContent = state.clerk ? state.clerk.name : "";
    }
  }

  // IT's remote action `identify`: the whole screen flashes and a chime sounds every 2 s
  // for as long as the appliance says (10 s), so IT finds the right counter.
  let chimeTimer = null;
  function chime() {
    try {
      const context = new AudioContext();
      for (const [i, freq] of [880, 1320].entries()) {
        const osc = context.createOscillator();
        const gain = context.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.3, context.currentTime + i * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + i * 0.25 + 0.6);
        osc.connect(gain).connect(context.destination);
        osc.start(context.currentTime + i * 0.25);
        osc.stop(context.currentTime + i * 0.25 + 0.6);
      }
      setTimeout(() => context.close(), 1500);
    } catch (e) { /* no audio output: the flash alone */ }
  }
  function renderIdentify(on) {
    document.body.classList.toggle("identify", Boolean(on));
    if (on && chimeTimer === null) {
      chime();
      chimeTimer = setInterval(chime, 2000);
    } else if (!on && chimeTimer !== null) {
      clearInterval(chimeTimer);
      chimeTimer = null;
    }
  }

  // An appliance enrolling with its own key: the claim code IT compares, or why it was refused.
  function renderEnrolment(enrolment) {
    if (!enrolment) return;
    const refused = enrolment.state !== "pending";
    $("enrolment-pending").hidden = refused;
    $("enrolment-refused").hidden = !refused;
    $("enrolment-refused").textContent = refused ? T["enrolment_" + enrolment.state] : "";
    $("claim-code").textContent = enrolment.claim_code;
    $("key-fingerprint").textContent = enrolment.fingerprint;
    $("enrolment-hub").textContent = enrolment.hub;
  }

  function chip(name, value, text) {
    const node = $("chip-" + name);
    node.dataset.state = value;
    node.querySelector(".value .text").textContent = text;
  }

  function renderStatus(state) {
    $("counter-name").textContent = state.counter ? state.counter.name : "";
    $("clerk-name").textContent = state.clerk ? "· " + state.clerk.name : "";
    chip("hub", state.hub, T["hub_" + state.hub]);
    for (const name of ["camera", "microphone", "scanner"]) {
      const value = state.devices[name];
      chip(name, value, T["device_" + value]);
    }
    $("lock-button").hidden = !state.clerk || !state.lock.armed || ["locked", "call", "sign_in"].includes(state.screen);
  }

  function checkBadge(result) {
    return el("span", { className: "badge " + (result || "none"), textContent: T["check_" + (result || "none")] });
  }

  // How much of the checklist came ahead: from the entry, or (lobby cards) from the same
  // appointment in the day list.
  function checklistDone(entry) {
    let found = entry.documents;
    if (!found && kiosk.state) {
      const same = (kiosk.state.day || []).find((e) => e.appointment === entry.appointment);
      found = same && same.documents;
    }
    return found || null;
  }

  function completeness(entry) {
    const found = checklistDone(entry);
    if (!found || !found.required) return null;
    return el("span", { className: "badge docs" + (found.done >= found.required ? " complete" : ""),
      textContent: fill(T.documents_count, { done: found.done, required: found.required }) });
  }

  function waitingCard(entry, fresh) {
    const admit = el("button", { type: "button", className: "button primary big", textContent: T.admit });
    admit.setAttribute("aria-label", `${T.admit}: ${entry.name}`);
    admit.addEventListener("click", async () => {
      admit.disabled = true;
      await startAudio();
      const reply = await send("admit", { appointment: entry.appointment });
      admit.disabled = false;
      if (!reply.ok) $("announce").textContent = errorText(reply.error);
    });
    const since = entry.waiting_since ? fill(T.waiting_since, { time: clock(entry.waiting_since) }) : "";
    return el("li", { className: "card" + (fresh ? " new" : "") },
      el("div", {},
        el("p", {}, el("strong", { textContent: entry.name }), " · ", clock(entry.start)),
        el("p", { textContent: serviceName(entry.service) }),
        el("p", {}, checkBadge(entry.device_check), " ", completeness(entry), " ", since)),
      admit);
  }

  function renderLobby(state) {
    const lobby = state.lobby;
    const ids = new Set(lobby.waiting.map((e) => e.appointment));
    const fresh = seenWaiting ? lobby.waiting.filter((e) => !seenWaiting.has(e.appointment)) : [];
    seenWaiting = ids;
    // A card shows its entry and the checklist's count (from the day list); "new" is only
    // its highlight, switched off on the next message without drawing the card again.
    const cards = (entries, isFresh) => entries.map((e) => [keyOf(e, checklistDone(e)), () => waitingCard(e, isFresh(e))]);
    const list = $("waiting");
    const nodes = keep(list, lobby.waiting.length ? cards(lobby.waiting, (e) => fresh.includes(e))
      : [[keyOf(T.nobody_waiting), () => el("li", { className: "facts", textContent: T.nobody_waiting })]]);
    lobby.waiting.forEach((e, i) => { if (!fresh.includes(e)) nodes[i].classList.remove("new"); });
    if (fresh.length) {
      const text = fill(T.someone_waiting, { name: fresh[0].name });
      $("lobby-cue").textContent = text;
      $("lobby-cue").hidden = false;
      $("announce").textContent = text;
      chime();
    } else if (!lobby.waiting.length) {
      $("lobby-cue").hidden = true;
    }
    const others = lobby.unattended || [];
    $("unattended-block").hidden = !others.length;
    const more = lobby.unattended_total > others.length
      ? fill(T.more_unattended, { count: lobby.unattended_total - others.length }) : null;
    keep($("unattended"), [...cards(others, () => false),
      ...(more ? [[keyOf(more), () => el("li", { className: "facts", textContent: more })]] : [])]);
  }

  function renderDay(day) {
    keep($("day"), day.length ? day.map((entry) => [keyOf(entry), () => dayEntry(entry)])
      : [[keyOf(T.no_appointments), () => el("li", { className: "facts", textContent: T.no_appointments })]]);
  }

  function dayEntry(entry) {
    const status = entry.cancelled ? T.state_cancelled
      : entry.outcome ? T["outcome_" + entry.outcome] : T["state_" + entry.state];
    const past = entry.cancelled || entry.state === "ended";
    const item = el("li", { className: past ? "past" : "" },
      el("time", { dateTime: entry.start, textContent: clock(entry.start) }),
      el("p", { className: "what" }, el("strong", { textContent: entry.name }), " · ",
        serviceName(entry.service), el("br"), status, " ", checkBadge(entry.device_check), " ",
        completeness(entry)));
    if (entry.may_close) {
      const button = el("button", { type: "button", className: "button", textContent: T.no_show });
      button.setAttribute("aria-label", `${T.no_show}: ${entry.name}`);
      button.addEventListener("click", () => send("no_show", { appointment: entry.appointment }));
      item.append(button);
    } else item.append(el("span"));
    const bring = documents(entry.service);
    if (bring.length && !past) item.append(el("p", { className: "bring", textContent: bring.join(" · ") }));
    return item;
  }

  function renderCall(call, state) {
    if (!call) {
      clearInterval(timer);
      timer = null;
      return;
    }
    const first = $("call-who").dataset.appointment !== call.appointment;
    if (first) {
      $("call-who").dataset.appointment = call.appointment;
      $("call-who").textContent = call.name || "";
      $("citizen-video").setAttribute("aria-label", `${T.video_citizen}: ${call.name || ""}`);
      $("call-service").textContent = call.service ? serviceName(call.service) : "";
      $("call-notes").value = call.notes || "";
      kiosk.frames.citizen = 0;
    }
    keep($("call-check"), [[keyOf(call.device_check), () => checkBadge(call.device_check)]]);
    $("media-state").textContent = call.media === "connected" ? "" : T["media_" + call.media];
    $("call-quality").textContent = T["quality_" + call.quality];
    $("call-quality").dataset.q = call.quality;
    $("hub-warning").textContent = T.call_goes_on;
    $("hub-warning").hidden = state.hub === "online";
    const muted = !state.sending.microphone, dark = !state.sending.camera;
    $("mute").setAttribute("aria-pressed", String(muted));
    $("mute").textContent = muted ? T.unmute : T.mute;
    $("camera").setAttribute("aria-pressed", String(dark));
    $("camera").textContent = dark ? T.camera_on : T.camera_off;
    if (!timer) timer = setInterval(tick, 1000);
    tick();
  }

  // --- documents and the scanner ---

  function size(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  function itemName(item) {
    return lang === "en" ? item.name_en : item.name_de;
  }

  function renderDocuments(state) {
    const call = state.call;
    if (!call) return;
    const docs = state.documents;
    const checklist = docs ? docs.checklist
      : documents(call.service || {}).map((name, index) => ({ index, name_de: name, name_en: name, state: "missing", reason: null }));
    keep($("checklist"), checklist.map((item) => [keyOf(item), () => el("li", { className: "item-" + item.state },
      el("span", { textContent: itemName(item) }), " ",
      el("span", { className: "badge", textContent: T["item_" + item.state] }),
      item.reason ? el("span", { className: "facts", textContent: " – " + item.reason }) : null)]));
    const files = docs ? docs.documents : [];
    keep($("documents"), files.length
      ? files.map((doc) => [keyOf(call.appointment, doc), () => documentEntry(call.appointment, doc)])
      : [[keyOf(T.no_documents), () => el("li", { className: "facts", textContent: T.no_documents })]]);
    const folder = state.folder || [];
    $("folder-block").hidden = !folder.length;
    keep($("folder"), folder.map((file) => [keyOf(call.appointment, file), () => {
      const give = el("button", { type: "button", className: "button", textContent: T.send_file });
      give.setAttribute("aria-label", `${T.send_file}: ${file.name}`);
      give.addEventListener("click", async () => {
        const reply = await send("send_file", { appointment: call.appointment, file: file.id });
        showError($("documents-error"), reply);
        if (reply.ok) $("announce").textContent = T.sent_scan;
      });
      return el("li", {}, el("p", {}, el("strong", { textContent: file.name }), " · ", size(file.size)),
        el("div", { className: "actions" }, give));
    }]));
    const scan = state.scan;
    $("scan-desk").hidden = !(scan && scan.available);
    if (!scan || !scan.available) return;
    $("scan").disabled = scan.scanning;
    $("scan").textContent = scan.scanning ? T.scanning : $("scan").dataset.label;
    $("scan-send-row").hidden = !scan.pages.length;
    keep($("scan-pages"), scan.pages.map((page, index) => [keyOf(page, index), () => scanPage(page, index)]));
  }

  function documentEntry(appointment, doc) {
    const show = el("button", { type: "button", className: "button", textContent: T.show });
    show.setAttribute("aria-label", `${T.show}: ${doc.name}`);
    show.addEventListener("click", () => view(appointment, doc));
    const actions = el("div", { className: "actions" }, show);
    const item = el("li", { className: "document state-" + doc.state },
      el("p", {}, el("strong", { textContent: doc.name }), " · ", size(doc.size), " · ",
        doc.sender === "clerk" ? T.from_clerk : T.from_citizen),
      actions);
    if (doc.sender === "citizen") {
      const accept = el("button", { type: "button", className: "button", textContent: T.accept, disabled: doc.state === "accepted" });
      accept.setAttribute("aria-label", `${T.accept}: ${doc.name}`);
      accept.addEventListener("click", async () => {
        showError($("documents-error"), await send("review", { appointment, document: doc.id, accepted: true }));
      });
      const again = el("button", { type: "button", className: "button", textContent: T.ask_again });
      again.setAttribute("aria-label", `${T.ask_again}: ${doc.name}`);
      const reason = el("input", { maxLength: 500, id: "reason-" + doc.id });
      const ask = el("button", { type: "button", className: "button", textContent: T.send_reason });
      ask.setAttribute("aria-label", `${T.send_reason}: ${doc.name}`);
      const form = el("p", { hidden: true }, el("label", { htmlFor: reason.id, textContent: T.reason }), reason, ask);
      again.addEventListener("click", () => { form.hidden = false; reason.focus(); });
      ask.addEventListener("click", async () => {
        showError($("documents-error"), await send("review", { appointment, document: doc.id, accepted: false, reason: reason.value }));
      });
      actions.append(accept, again);
      item.append(form);
    }
    return item;
  }

  function view(appointment, doc) {
    const url = `/documents/${appointment}/${doc.id}`;
    $("viewer-title").textContent = doc.name;
    const body = doc.media_type.startsWith("image/")
      ? el("img", { src: url, alt: doc.name })
      : el("iframe", { src: url, title: doc.name });
    $("viewer-body").replaceChildren(body);
    $("viewer").showModal();
  }

  function scanPage(page, index) {
    const label = fill(T.page, { number: index + 1 });
    const button = (text, cmd) => {
      const node = el("button", { type: "button", className: "button", textContent: text });
      node.setAttribute("aria-label", `${text}: ${label}`);
      node.addEventListener("click", async () => showError($("documents-error"), await send(cmd, { page: index })));
      return node;
    };
    return el("li", {},
      el("img", { src: `/scan/${page.id}.jpg?rotation=${page.rotation}`, alt: label }),
      el("div", { className: "actions" },
        button(T.rotate, "scan_rotate"), button(T.retake, "scan_retake"), button(T.remove, "scan_remove")));
  }

  // --- fees: the clerk picks items and quantities, the hub prices them and tells the state ---

  const euro = new Intl.NumberFormat(lang === "en" ? "en-GB" : "de-DE", { style: "currency", currency: "EUR" });
  const money = (cents) => euro.format(cents / 100);
  const MAX_QUANTITY = 99;
  const OPEN = ["requested", "pending"];
  // What the clerk chose (code → quantity), kept across state messages; what is on screen.
  const pay = { appointment: null, chosen: new Map(), feesKey: "", listKey: "", states: new Map(),
                confirming: null, mailed: new Set(), sending: false, focus: null };

  function feeLabel(item) {
    return lang === "en" ? item.label_en : item.label_de;
  }

  function renderFees(state) {
    if (!state) return;
    const call = state.call, fees = state.payments;
    const shown = !!(call && fees && fees.appointment === call.appointment);
    $("fees").hidden = !shown;
    if (!shown) return;
    if (pay.appointment !== fees.appointment) {
      forgetFees();
      pay.appointment = fees.appointment;
    }
    const feesKey = JSON.stringify(fees.fees);
    if (feesKey !== pay.feesKey) {
      pay.feesKey = feesKey;
      const codes = new Set(fees.fees.map((item) => item.code));
      for (const code of [...pay.chosen.keys()]) if (!codes.has(code)) pay.chosen.delete(code);
      $("fee-items").replaceChildren(...fees.fees.map(feeItem));
    }
    $("fees-none").hidden = fees.fees.length > 0;
    $("fees-choose").hidden = !fees.fees.length;
    $("fees-offline").textContent = T.error_no_platform;
    $("fees-offline").hidden = fees.online;
    updateTotal();
    renderRequests(fees);
  }

  function feeItem(item) {
    const name = feeLabel(item);
    const id = "fee-" + item.code;
    if (!item.variable_quantity) {
      const box = el("input", { type: "checkbox", id, checked: pay.chosen.has(item.code) });
      box.addEventListener("change", () => {
        if (box.checked) pay.chosen.set(item.code, 1);
        else pay.chosen.delete(item.code);
        updateTotal();
      });
      return el("li", {}, el("label", { className: "fee-check", htmlFor: id }, box,
        el("span", {}, name, " · ", el("span", { className: "amount", textContent: money(item.amount_cents) }))));
    }
    const input = el("input", { type: "number", id, min: 0, max: MAX_QUANTITY, step: 1, inputMode: "numeric",
      value: String(pay.chosen.get(item.code) || 0) });
    input.setAttribute("aria-label", fill(T.pay_quantity, { name }));
    const set = (quantity, shown) => {
      const q = Math.max(0, Math.min(MAX_QUANTITY, Math.trunc(Number(quantity)) || 0));
      if (q) pay.chosen.set(item.code, q);
      else pay.chosen.delete(item.code);
      if (!shown) input.value = String(q);
      updateTotal();
    };
    // The total follows each key; the field itself is put right (0–99) when it is left.
    input.addEventListener("input", () => set(input.value, true));
    input.addEventListener("change", () => set(input.value));
    const step = (text, label, delta) => {
      const button = el("button", { type: "button", className: "button", textContent: text });
      button.setAttribute("aria-label", fill(label, { name }));
      button.addEventListener("click", () => set((pay.chosen.get(item.code) || 0) + delta));
      return button;
    };
    return el("li", { className: "fee-var" },
      el("p", {}, el("span", { textContent: name }), " · ",
        el("span", { className: "amount", textContent: fill(T.pay_each, { amount: money(item.amount_cents) }) })),
      el("div", { className: "stepper" }, step("−", T.pay_fewer, -1), input, step("+", T.pay_more, 1)));
  }

  function chosenLines() {
    const fees = kiosk.state && kiosk.state.payments;
    if (!fees) return [];
    return fees.fees.filter((item) => pay.chosen.has(item.code))
      .map((item) => ({ item, quantity: pay.chosen.get(item.code) }));
  }

  function updateTotal() {
    const fees = kiosk.state && kiosk.state.payments;
    const lines = chosenLines();
    const total = lines.reduce((sum, line) => sum + line.item.amount_cents * line.quantity, 0);
    $("fee-total").textContent = money(total);
    const button = $("pay-request");
    button.textContent = total ? fill(T.pay_request_amount, { amount: money(total) }) : T.pay_request;
    const online = !!(fees && fees.online);
    button.disabled = !total || !online || pay.sending;
    if (online) button.removeAttribute("aria-describedby");
    else button.setAttribute("aria-describedby", "fees-offline");
  }

  async function requestPayment() {
    const call = kiosk.state && kiosk.state.call;
    const lines = chosenLines();
    if (!call || !lines.length) return;
    const total = lines.reduce((sum, line) => sum + line.item.amount_cents * line.quantity, 0);
    pay.sending = true;
    updateTotal();
    // Codes and quantities only: the hub prices them from the catalogue.
    const reply = await send("pay_request", { appointment: call.appointment,
      lines: lines.map((line) => ({ code: line.item.code, quantity: line.quantity })) });
    pay.sending = false;
    showError($("fees-error"), reply);
    if (reply.ok) {
      pay.chosen.clear();
      pay.feesKey = ""; // the choices are drawn afresh, empty
      $("announce").textContent = fill(T.pay_requested, { amount: money(total) });
      if (kiosk.state) renderFees(kiosk.state);
    } else updateTotal();
  }

  function renderRequests(fees) {
    const requests = [...fees.payments].sort((a, b) => b.created_at.localeCompare(a.created_at));
    // Say what changed (on the first listing of a call, nothing is new).
    const first = pay.states.size === 0 && pay.listKey === "";
    for (const request of requests) {
      const before = pay.states.get(request.id);
      if (!first && before !== request.state) {
        $("announce").textContent = fill(T.pay_changed, { amount: money(request.total_cents), state: T["pay_state_" + request.state] });
      }
      pay.states.set(request.id, request.state);
    }
    const key = JSON.stringify([requests, pay.confirming, [...pay.mailed]]);
    if (key === pay.listKey) return;
    pay.listKey = key;
    // Only the requests that changed are drawn again: news of one leaves the others' buttons.
    keep($("pay-requests"), requests.length
      ? requests.map((request) => [
        keyOf(fees.appointment, request, pay.confirming === request.id, pay.mailed.has(request.id)),
        () => requestEntry(fees.appointment, request)])
      : [[keyOf(T.pay_none_yet), () => el("li", { className: "facts", textContent: T.pay_none_yet })]]);
    if (pay.focus) {
      const node = $(pay.focus);
      pay.focus = null;
      if (node) node.focus();
    }
  }

  function requestEntry(appointment, request) {
    const amount = money(request.total_cents);
    const what = fill(T.pay_request_of, { amount, time: clock(request.created_at) });
    const state = el("span", { className: "badge pay-" + request.state, textContent: T["pay_state_" + request.state] });
    const lines = request.lines.map((line) => `${line.quantity}\u00a0×\u00a0${feeLabel(line)}`).join("\n");
    const item = el("li", { className: "pay-request state-" + request.state },
      el("p", {}, el("strong", { className: "amount", textContent: amount }), " · ", state,
        request.channel === "mail" ? ` · ${T.pay_by_mail}` : null),
      lines ? el("p", { className: "facts lines", textContent: lines }) : null); // one item a line
    if (request.receipt) item.append(el("p", { className: "receipt", textContent: T.pay_receipt }));
    const actions = el("div", { className: "actions" });
    const button = (text, label, handler, extra) => {
      const node = el("button", { type: "button", className: "button" + (extra ? " " + extra : ""), textContent: text });
      if (label) node.setAttribute("aria-label", label);
      node.addEventListener("click", handler);
      return node;
    };
    if (OPEN.includes(request.state) && pay.confirming === request.id) {
      // A touch screen gets mis-taps: cancelling asks once more, "no" has the focus.
      const no = button(T.pay_cancel_no, null, () => { pay.confirming = null; pay.focus = "cancel-" + request.id; renderFees(kiosk.state); });
      no.id = "keep-" + request.id;
      const yes = button(T.pay_cancel_yes, null, async () => {
        yes.disabled = true;
        const reply = await send("pay_cancel", { appointment, payment: request.id });
        pay.confirming = null;
        showError($("fees-error"), reply);
        renderFees(kiosk.state);
      }, "danger");
      actions.append(el("p", { className: "confirm", role: "group" },
        el("span", { textContent: fill(T.pay_cancel_sure, { amount }) }), " ", yes, " ", no));
    } else if (OPEN.includes(request.state)) {
      const cancel = button(T.pay_cancel, `${T.pay_cancel}: ${what}`, () => {
        pay.confirming = request.id;
        pay.focus = "keep-" + request.id;
        renderFees(kiosk.state);
      });
      cancel.id = "cancel-" + request.id;
      actions.append(cancel);
    } else if (request.state !== "paid" && pay.mailed.has(request.id)) {
      actions.append(el("p", { className: "facts", textContent: T.pay_mailed }));
    } else if (request.state !== "paid") {
      const mail = button(T.pay_mail, `${T.pay_mail}: ${what}`, async () => {
        mail.disabled = true;
        const reply = await send("pay_mail", { appointment, payment: request.id });
        showError($("fees-error"), reply);
        if (reply.ok) {
          pay.mailed.add(request.id);
          $("announce").textContent = T.pay_mailed;
        } else mail.disabled = false;
        renderFees(kiosk.state);
      });
      actions.append(mail);
    }
    if (actions.childNodes.length) item.append(actions);
    return item;
  }

  function forgetFees() {
    Object.assign(pay, { appointment: null, feesKey: "", listKey: "", confirming: null, sending: false, focus: null });
    pay.chosen.clear();
    pay.states.clear();
    pay.mailed.clear();
    $("fee-items").replaceChildren();
    unkeep($("pay-requests"));
    $("fees-error").hidden = true;
  }

  // A locked or signed-out screen keeps nothing of the citizens on the page.
  function forget() {
    for (const id of ["call-who", "outcome-who"]) {
      $(id).textContent = "";
      delete $(id).dataset.appointment;
    }
    for (const id of ["call-notes", "outcome-notes"]) $(id).value = "";
    for (const id of ["checklist", "documents", "scan-pages", "folder", "call-check"]) unkeep($(id));
    forgetFees();
    if ($("viewer").open) $("viewer").close();
    $("lobby-cue").hidden = true;
    for (const id of ["citizen-video", "self-video"]) {
      const canvas = $(id);
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  function tick() {
    const call = kiosk.state && kiosk.state.call;
    const since = call && call.since_ms;
    const seconds = since ? Math.max(0, Math.floor((Date.now() - since) / 1000)) : 0;
    const mm = String(Math.floor(seconds / 60)).padStart(2, "0"), ss = String(seconds % 60).padStart(2, "0");
    $("call-timer").textContent = `${mm}:${ss}`;
  }

  function renderOutcome(record) {
    if (!record) return;
    const node = $("outcome-who");
    if (node.dataset.appointment !== record.appointment) {
      node.dataset.appointment = record.appointment;
      node.textContent = `${record.name} · ${record.service ? serviceName(record.service) : ""}`;
      $("outcome-notes").value = record.notes || $("call-notes").value || "";
      $("outcome-error").hidden = true;
    }
  }

  // --- the clerk's actions ---

  function wire() {
    $("sign-in").addEventListener("submit", async (event) => {
      event.preventDefault();
      await startAudio().catch(() => {});
      const reply = await send("sign_in", {
        username: $("username").value.trim(), password: $("password").value, pin: $("pin").value,
      });
      showError($("sign-in-error"), reply);
      if (reply.ok) for (const id of ["password", "pin"]) $(id).value = "";
    });
    $("unlock").addEventListener("submit", async (event) => {
      event.preventDefault();
      const reply = await send("unlock", { pin: $("unlock-pin").value });
      $("unlock-pin").value = "";
      if (!reply.ok && reply.error.code === "wrong_pin") {
        reply.error.message = "";
        $("unlock-error").textContent = fill(T.attempts_left, { count: kiosk.state.lock.attempts_left - 1 });
        $("unlock-error").hidden = false;
      } else showError($("unlock-error"), reply);
    });
    for (const key of document.querySelectorAll(".pinpad [data-digit]")) {
      key.addEventListener("click", () => {
        const input = $("unlock-pin");
        input.value = key.dataset.digit === "back" ? input.value.slice(0, -1) : (input.value + key.dataset.digit).slice(0, 8);
      });
    }
    $("switch-clerk").addEventListener("click", () => send("sign_out"));
    $("scan").dataset.label = $("scan").textContent;
    $("scan").addEventListener("click", async () => showError($("documents-error"), await send("scan")));
    $("scan-discard").addEventListener("click", () => send("scan_discard"));
    $("scan-send").addEventListener("click", async () => {
      const call = kiosk.state && kiosk.state.call;
      if (!call) return;
      const reply = await send("scan_send", { appointment: call.appointment, name: $("scan-name").value || "Dokument" });
      showError($("documents-error"), reply);
      if (reply.ok) $("announce").textContent = T.sent_scan;
    });
    $("pay-request").addEventListener("click", requestPayment);
    $("viewer-close").addEventListener("click", () => $("viewer").close());
    $("sign-out").addEventListener("click", () => send("sign_out"));
    $("lock-button").addEventListener("click", () => send("lock"));
    $("hang-up").addEventListener("click", () => {
      const call = kiosk.state && kiosk.state.call;
      if (call) send("hang_up", { appointment: call.appointment });
    });
    $("mute").addEventListener("click", () => send("send", { kind: "microphone", on: !kiosk.state.sending.microphone }));
    $("camera").addEventListener("click", () => send("send", { kind: "camera", on: !kiosk.state.sending.camera }));
    let draft = null;
    $("call-notes").addEventListener("input", () => {
      clearTimeout(draft);
      draft = setTimeout(() => {
        const call = kiosk.state && kiosk.state.call;
        if (call) send("notes", { appointment: call.appointment, notes: $("call-notes").value });
      }, 500);
    });
    for (const button of document.querySelectorAll("[data-outcome]")) {
      button.addEventListener("click", async () => {
        const record = kiosk.state && kiosk.state.record;
        if (!record) return;
        const reply = await send("record", {
          appointment: record.appointment, outcome: button.dataset.outcome, notes: $("outcome-notes").value,
        });
        showError($("outcome-error"), reply);
      });
    }
    // Any touch or key keeps the screen from locking (at most one message every 10 s).
    let lastActivity = 0;
    const active = () => {
      startAudio().catch(() => {});
      if (Date.now() - lastActivity > 10000) {
        lastActivity = Date.now();
        send("activity");
      }
    };
    document.addEventListener("pointerdown", active, { passive: true });
    document.addEventListener("keydown", active, { passive: true });
  }

  wire();
  connect();
})();
