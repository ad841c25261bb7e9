// The fees panel of the call page: the clerk's payment requests as the hub reports them
// (`payments` news over the call's socket, see call.js), each with its state and, while open,
// the link to the payment platform. Amounts come from the hub only; this page only shows them.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("payments");
  if (!root) return;
  const config = JSON.parse($("payments-config").textContent);
  const text = config.messages;
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const euros = new Intl.NumberFormat(config.lang === "en" ? "en-IE" : "de-DE", {
    style: "currency",
    currency: "EUR",
  });
  const amount = (cents) => euros.format(cents / 100);
  const OPEN = ["requested", "pending"];
  const seen = {}; // request id → the state last shown, to announce changes once
  const RETURN_KEY = "bv-call-return"; // the payment pages offer the way back to this call

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function label(line) {
    return config.lang === "en" && line.label_en ? line.label_en : line.label_de;
  }

  function entry(payment) {
    const open = OPEN.includes(payment.state);
    const item = element("li", { class: "payment payment-" + payment.state, "data-id": payment.id });
    item.appendChild(
      element("p", { class: "payment-head" }, [
        element("strong", { class: "payment-amount", text: amount(payment.total_cents) }),
        element("span", {
          class: "payment-state",
          "data-state": payment.state,
          text: " – " + (payment.state === "paid" ? "✓ " : "") + text[payment.state],
        }),
      ])
    );
    const lines = element("ul", { class: "payment-lines" });
    payment.lines.forEach((line) => {
      const quantity = line.quantity > 1 ? line.quantity + " × " : "";
      lines.appendChild(
        element("li", { text: quantity + label(line) + ": " + amount(line.total_cents) })
      );
    });
    item.appendChild(lines);
    if (open && payment.pay_link && payment.channel === "call") {
      const link = element("a", {
        class: "button primary pay-link",
        href: payment.pay_link,
        target: "_blank",
        rel: "noopener",
        "aria-describedby": "pay-hint-" + payment.id,
        text: fill(text.pay, { amount: amount(payment.total_cents) }),
      });
      link.addEventListener("click", () => {
        try { window.localStorage.setItem(RETURN_KEY, window.location.href); } catch (e) { /* private mode */ }
      });
      item.appendChild(link);
      item.appendChild(element("p", { class: "hint", id: "pay-hint-" + payment.id, text: text.pay_hint }));
    }
    if (payment.channel === "mail" && open) {
      item.appendChild(element("p", { class: "hint", text: text.by_mail }));
    }
    if (payment.state === "paid" && payment.receipt) {
      item.appendChild(element("p", { class: "hint", text: text.receipt }));
    }
    return item;
  }

  function announce(payment) {
    const before = seen[payment.id];
    seen[payment.id] = payment.state;
    if (before === payment.state) return null;
    const values = { amount: amount(payment.total_cents) };
    if (payment.state === "pending" && payment.channel === "call") return fill(text.asked, values);
    if (payment.state === "paid") return fill(text.paid_news, values);
    if (payment.state === "failed") return fill(text.failed_news, values);
    return null;
  }

  function show(news) {
    const payments = (news && news.payments) || [];
    const list = $("payments-list");
    list.replaceChildren(...payments.slice().reverse().map(entry)); // newest first
    root.hidden = payments.length === 0;
    const fresh = payments.filter((p) => seen[p.id] === undefined && p.state === "pending");
    const said = payments.map(announce).filter(Boolean);
    if (said.length) $("payments-news").textContent = said[said.length - 1];
    // A new request below the video on a phone: bring it into view (the news is announced).
    if (fresh.length) root.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  window.bvPayments = { show };
})();
