// The documents panel (call page and manage page): the service's checklist and where each entry
// stands, uploads in chunks that resume by themselves after a dropped connection, and the files
// of both sides to download or to show with the browser's own means. See docs/documents.md.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("documents");
  if (!root) return;
  const config = JSON.parse($("documents-config").textContent);
  const text = config.messages;
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const number = new Intl.NumberFormat(config.lang, { maximumFractionDigits: 1 });
  const RETRIES = 8; // about two minutes of waiting in all, then the upload is given up

  const state = { listing: null, upload: null, seen: null, sent: 0, retries: 0 };
  window.bvDocuments = state; // for tests, and for call.js (live updates)

  const statusLine = $("document-status");
  function say(message, bad) {
    statusLine.textContent = message;
    statusLine.className = bad ? "error" : message ? "notice" : "";
  }

  function url(path, params) {
    const query = new URLSearchParams(params || {});
    query.set("lang", config.lang);
    return config.base + (path || "") + "?" + query.toString();
  }

  function sizeText(bytes) {
    if (bytes >= 1024 * 1024) return number.format(bytes / (1024 * 1024)) + " MB";
    return number.format(Math.max(1, Math.round(bytes / 1024))) + " KB";
  }

  // One request; resolves with the parsed answer, rejects with {status, code, message, received}
  // or {network: true}. XMLHttpRequest, not fetch: only it reports upload progress.
  function request(method, path, options) {
    const { params, body, type, onProgress, job } = options || {};
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      if (job) job.xhr = xhr; // cancelling aborts it
      xhr.open(method, url(path, params));
      xhr.setRequestHeader("Accept", "application/json");
      if (type) xhr.setRequestHeader("Content-Type", type);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        let answer = null;
        try { answer = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(answer); return; }
        const error = (answer && answer.error) || {};
        reject({ status: xhr.status, code: error.code, message: error.message, received: error.received });
      };
      xhr.onerror = xhr.ontimeout = () => reject({ network: true });
      xhr.onabort = () => reject({ aborted: true });
      xhr.send(body === undefined ? null : body);
    });
  }

  async function refresh() {
    try {
      state.listing = await request("GET", "");
    } catch (error) {
      return;
    }
    render();
  }
  state.refresh = refresh;

  // ---- Rendering ---------------------------------------------------------------------------

  function element(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function renderChecklist(checklist) {
    $("checklist-part").hidden = checklist.length === 0;
    $("checklist").replaceChildren(...checklist.map((entry) => {
      const item = element("li", "checklist-entry state-" + entry.state);
      item.append(element("span", "entry-name", entry.name), " ");
      item.append(element("span", "entry-state", text[entry.state]));
      if (entry.state === "again" && entry.reason) {
        item.append(element("span", "entry-reason", fill(text.reason, { reason: entry.reason })));
      }
      return item;
    }));
    const select = $("document-item");
    if (!select) return;
    const chosen = select.value;
    const options = checklist.map((entry) => new Option(
      fill(text.item_option, { name: entry.name, state: text[entry.state] }), String(entry.index)));
    options.push(new Option(text.other, ""));
    select.replaceChildren(...options);
    // Keep the citizen's choice; else offer the first entry still wanted.
    const wanted = checklist.find((e) => e.state === "missing" || e.state === "again");
    if (options.some((o) => o.value === chosen && chosen !== "")) select.value = chosen;
    else select.value = wanted ? String(wanted.index) : "";
    $("document-item-field").hidden = checklist.length === 0;
  }

  function renderDocument(doc) {
    const item = element("li", "document");
    item.dataset.id = doc.id;
    item.append(element("span", "document-name", doc.name));
    const facts = [sizeText(doc.size), doc.sender === "clerk" ? text.by_clerk : text.by_you];
    if (doc.sender === "citizen" && doc.state !== "uploaded") facts.push(fill(text.checked, { state: text[doc.state] }));
    item.append(element("span", "document-facts hint", facts.join(" · ")));
    if (doc.state === "again" && doc.reason) item.append(element("span", "entry-reason", fill(text.reason, { reason: doc.reason })));
    const actions = element("div", "document-actions");
    const link = element("a", "button", text.download);
    link.href = doc.url;
    link.setAttribute("aria-label", fill(text.download_named, { name: doc.name }));
    actions.append(link);
    let view = null;
    if (doc.view_url) {
      const panelId = "view-" + doc.id;
      const toggle = element("button", "button", text.show);
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", panelId);
      toggle.setAttribute("aria-label", fill(text.show_named, { name: doc.name }));
      view = element("div", "document-view");
      view.id = panelId;
      view.hidden = true;
      toggle.addEventListener("click", () => {
        const open = view.hidden;
        if (open && !view.firstChild) view.append(viewer(doc));
        view.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? text.hide : text.show;
        toggle.setAttribute("aria-label", fill(open ? text.hide_named : text.show_named, { name: doc.name }));
      });
      actions.append(toggle);
    }
    if (config.uploads && doc.sender === "citizen" && doc.state !== "accepted") {
      const remove = element("button", "button danger", text.delete);
      remove.type = "button";
      remove.setAttribute("aria-label", fill(text.delete_named, { name: doc.name }));
      remove.addEventListener("click", () => removeDocument(doc));
      actions.append(remove);
    }
    item.append(actions);
    if (view) item.append(view);
    return item;
  }

  async function removeDocument(doc) {
    if (!window.confirm(fill(text.confirm_delete, { name: doc.name }))) return;
    try {
      await request("DELETE", "/" + doc.id);
      say(fill(text.deleted, { name: doc.name }));
    } catch (error) {
      say(error.message || text.failed, true);
    }
    await refresh();
  }

  // Images as <img>, PDFs in the browser's own viewer (an <iframe> on our own origin).
  function viewer(doc) {
    if (doc.media_type === "application/pdf") {
      const frame = element("iframe", "document-frame");
      frame.src = doc.view_url;
      frame.title = doc.name;
      return frame;
    }
    const image = element("img", "document-image");
    image.src = doc.view_url;
    image.alt = doc.name;
    return image;
  }

  // The documents as they stood when the page last rendered them keep their list item (an
  // open viewer stays open); new ones are added, gone ones removed.
  function renderList(list, docs) {
    const existing = new Map([...list.children].map((node) => [node.dataset.id, node]));
    list.replaceChildren(...docs.map((doc) => {
      const old = existing.get(doc.id);
      if (old && old.dataset.version === version(doc)) return old;
      const node = renderDocument(doc);
      node.dataset.version = version(doc);
      return node;
    }));
  }
  const version = (doc) => doc.state + "|" + (doc.reason || "");

  function render() {
    const listing = state.listing;
    renderChecklist(listing.checklist);
    const fromClerk = listing.documents.filter((d) => d.sender === "clerk");
    const fromYou = listing.documents.filter((d) => d.sender !== "clerk");
    $("from-clerk-part").hidden = fromClerk.length === 0;
    $("from-you-part").hidden = fromYou.length === 0;
    renderList($("from-clerk"), fromClerk);
    renderList($("from-you"), fromYou);
    announce(listing);
  }

  // News from the clerk is said out loud once (outside the panel too, when it is closed).
  function announce(listing) {
    const now = new Map(listing.documents.map((d) => [d.id, version(d)]));
    if (state.seen) {
      for (const doc of listing.documents) {
        const before = state.seen.get(doc.id);
        if (before === version(doc)) continue;
        if (doc.sender === "clerk" && before === undefined) news(fill(text.new_from_clerk, { name: doc.name }));
        else if (doc.sender === "citizen" && doc.state === "again") news(fill(text.asked_again, { name: doc.name }));
      }
    }
    state.seen = now;
  }

  function news(message) {
    const outside = $("documents-news");
    if (outside && root.hidden) outside.textContent = message;
    else say(message);
  }

  // ---- Uploads -----------------------------------------------------------------------------

  const bar = $("document-bar");
  function showProgress(job) {
    $("document-progress").hidden = !job;
    for (const id of ["document-pick", "document-photo"]) $(id).disabled = Boolean(job);
    if (job) { bar.value = 0; $("document-cancel").hidden = false; $("document-bar-label").textContent = fill(text.sending, { name: job.file.name }); }
  }

  function progress(job, sent) {
    const percent = Math.min(100, Math.floor((100 * sent) / job.file.size));
    bar.value = percent;
    // Screen readers hear every quarter, not every percent.
    const quarter = Math.floor(percent / 25);
    if (quarter !== job.quarter) {
      job.quarter = quarter;
      say(fill(text.progress, { name: job.file.name, percent: quarter * 25 }));
    }
  }

  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  async function sendAll(job) {
    const limits = state.listing.limits;
    const path = "/uploads/" + job.id;
    let failures = 0;
    while (job.received < job.file.size) {
      if (job.cancelled) throw { aborted: true };
      const end = Math.min(job.file.size, job.received + limits.chunk_bytes);
      try {
        const answer = await request("PUT", path, {
          params: { offset: job.received },
          body: job.file.slice(job.received, end),
          type: "application/octet-stream",
          onProgress: (loaded) => progress(job, job.received + loaded),
          job,
        });
        job.received = answer.received;
        state.sent += 1;
        if (failures) say(text.resumed);
        failures = 0;
      } catch (error) {
        if (job.cancelled || error.aborted) throw { aborted: true };
        if (error.status === 409 && typeof error.received === "number") { job.received = error.received; continue; }
        const passing = error.network || error.status >= 500 || error.status === 429;
        if (!passing) throw error;
        failures += 1;
        state.retries += 1;
        if (failures > RETRIES) throw { message: text.gave_up, gaveUp: true };
        say(text.retrying);
        await sleep(Math.min(20000, 500 * 2 ** failures));
        try { job.received = (await request("GET", path, { job })).received; } catch (e) { /* asked again next round */ }
      }
      progress(job, job.received);
    }
  }

  async function upload(file) {
    if (!file) return;
    if (state.upload) { say(text.busy, true); return; }
    if (!state.listing) await refresh();
    if (file.size === 0) { say(text.empty, true); return; }
    if (state.listing && file.size > state.listing.limits.file_bytes) { say(text.too_large, true); return; }
    const select = $("document-item");
    const item = select && select.value !== "" ? Number(select.value) : null;
    const job = state.upload = { file, item, id: null, received: 0, cancelled: false, xhr: null, quarter: -1 };
    showProgress(job);
    try {
      const begun = await request("POST", "/uploads", {
        body: JSON.stringify({ name: file.name, size: file.size, item }), type: "application/json", job,
      });
      job.id = begun.id;
      job.received = begun.received;
      await sendAll(job);
      job.finishing = true; // the hub has it all: too late to cancel
      $("document-cancel").hidden = true;
      say(fill(text.checking, { name: file.name }));
      await request("POST", "/uploads/" + job.id + "/finish", { body: "{}", type: "application/json" });
      say(fill(text.done, { name: file.name }));
      state.upload = null;
      if (select) select.value = ""; // offer the next entry still wanted
      await refresh();
    } catch (error) {
      if (job.cancelled || error.aborted) {
        say(text.cancelled);
      } else {
        say(error.message || text.failed, true);
        if (job.id && (error.gaveUp || error.network)) drop(job); // never a half file kept
      }
    } finally {
      if (state.upload === job) state.upload = null;
      showProgress(null);
    }
  }

  function drop(job) {
    request("DELETE", "/uploads/" + job.id).catch(() => { /* it expires at the hub anyway */ });
  }

  function cancel() {
    const job = state.upload;
    if (!job || job.finishing) return;
    job.cancelled = true;
    if (job.xhr) job.xhr.abort();
    if (job.id) drop(job);
  }

  if (config.uploads) {
    const picker = $("document-file"), camera = $("document-camera");
    $("document-pick").addEventListener("click", () => picker.click());
    $("document-photo").addEventListener("click", () => camera.click());
    for (const input of [picker, camera]) {
      input.addEventListener("change", () => {
        const file = input.files[0];
        input.value = ""; // the same file may be chosen again
        upload(file);
      });
    }
    $("document-cancel").addEventListener("click", cancel);
  }

  // The call page's button opens and closes the panel.
  const toggle = $("documents-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = root.hidden;
      root.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) { const outside = $("documents-news"); if (outside) outside.textContent = ""; }
    });
  }

  refresh();
})();
