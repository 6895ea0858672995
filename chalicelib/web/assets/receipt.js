/* The receipt page: follows the payment until it is paid or failed, then offers the PDF and
   shows any refund of it (amount and status). */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const paymentId = document.body.dataset.payment;
  const POLL_MS = 1500;
  const MAX_POLLS = 80;
  let payment = null;
  let refunds = [];
  let polls = 0;

  function renderRefunds() {
    const list = $("refund-list");
    list.replaceChildren();
    refunds.forEach((refund) => {
      const amount = document.createElement("dt");
      amount.textContent = "¥" + refund.amount.yuan;
      const status = document.createElement("dd");
      status.textContent = I18N.t("refund_" + refund.status);
      status.dataset.refundStatus = refund.status;
      list.append(amount, status);
    });
    $("refunds").hidden = refunds.length === 0;
  }

  async function loadRefunds() {
    const answer = await fetchJson("/refunds/of-payment/" + encodeURIComponent(paymentId));
    if (answer.ok) {
      refunds = answer.body.items;
      renderRefunds();
    }
  }

  function render() {
    if (!payment) return;
    const state = payment.display_status;
    const status = $("status");
    status.textContent = I18N.t("status_" + state);
    status.className = "status " + state;
    status.dataset.state = state;
    $("failure").hidden = state !== "failed" || !payment.failure_message;
    $("failure").textContent = payment.failure_message || "";
    $("receipt-number").textContent = payment.receipt_number || "—";
    $("case-number").textContent = payment.case_number;
    $("court-name").textContent = payment.court_name;
    $("account-number").textContent = payment.account_number_display;
    $("amount").textContent = formatYuan(payment.amount.yuan);
    // China time, and said so: a payer abroad must not read it as their own.
    $("paid-at").textContent = payment.paid_at ? new Date(payment.paid_at).toLocaleString(
      I18N.lang === "zh" ? "zh-CN" : "en-GB",
      { timeZone: "Asia/Shanghai", timeZoneName: "short" }) : "—";
    $("reference").textContent = payment.payment_reference || "—";
    if (payment.receipt_pdf) {
      $("pdf-zh").href = payment.receipt_pdf.zh;
      $("pdf-en").href = payment.receipt_pdf.en;
      $("downloads").hidden = false;
    }
    $("back").href = "/pay/" + payment.account_number + "?lang=" + I18N.lang;
    $("receipt").hidden = false;
    renderRefunds();
  }

  async function load() {
    const answer = await fetchJson("/collection/payments/" + encodeURIComponent(paymentId));
    if (!answer.ok) {
      $("load-error").textContent = answer.network
        ? I18N.t("err_network") : I18N.problemText(answer.problem);
      $("load-error").hidden = false;
      // A network failure or a 5xx is passing: keep following the payment, so the payer
      // learns it went through instead of being left with an error and paying again.
      const passing = answer.network || answer.status >= 500;
      if (passing && ++polls < MAX_POLLS) window.setTimeout(load, POLL_MS);
      return;
    }
    $("load-error").hidden = true;
    payment = answer.body;
    if (payment.display_status === "paid") {
      RECEIPTS.remember(payment.account_number, payment.payment_id, payment.receipt_number);
    }
    render();
    const settled = payment.display_status === "paid" || payment.display_status === "failed";
    if (payment.display_status === "paid") loadRefunds();
    if (!settled && ++polls < MAX_POLLS) window.setTimeout(load, POLL_MS);
  }

  I18N.onChange(render);
  load();
})();
