/* The pay page: show what the case owes, take an amount and a card, pay, go to the receipt.
 * Card details go to the rail's browser library (Stripe.js), which returns a one-time token;
 * the court's server never sees a card number. */
"use strict";

(() => {
  const body = document.body;
  const account = body.dataset.account;
  const $ = (id) => document.getElementById(id);
  const YUAN = /^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$/;
  let overview = null;
  let attempt = null; // { key, amount, surplus }: one idempotency key per attempt, kept on retry

  const stripe = Stripe(body.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  function toFen(text) {
    const value = text.trim();
    if (!YUAN.test(value)) return null;
    const [whole, frac = ""] = value.split(".");
    return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
  }

  /* Integer fen as yuan text, by digits: money never goes through floating point. */
  function yuan(fen) {
    const digits = String(fen).padStart(3, "0");
    return digits.slice(0, -2) + "." + digits.slice(-2);
  }

  function show(node, text) {
    node.textContent = text;
    node.hidden = !text;
  }

  function render() {
    if (!overview) return;
    $("court-name").textContent = overview.court_name;
    $("case-number").textContent = overview.case_number_masked;
    $("account-number").textContent = overview.account_number_display;
    $("remaining").textContent = formatYuan(overview.remaining.yuan);
    $("paid-in-full").hidden = !overview.paid_in_full;
    $("not-open").hidden = overview.accepts_payments || overview.paid_in_full;
    $("case").hidden = false;
    // A case paid in full takes no more money here: show that, and the receipts, not a form.
    $("pay-form").hidden = !overview.accepts_payments || overview.paid_in_full;
    renderReceipts();
    checkSurplus();
  }

  function renderReceipts() {
    const receipts = overview.paid_in_full ? RECEIPTS.list(overview.account_number) : [];
    const list = $("receipt-list");
    list.replaceChildren(...receipts.map((receipt) => {
      const link = document.createElement("a");
      link.href = "/receipts/" + encodeURIComponent(receipt.payment_id) + "?lang=" + I18N.lang;
      link.textContent = receipt.receipt_number;
      const item = document.createElement("li");
      item.append(link);
      showRefunds(receipt.payment_id, item);
      return item;
    }));
    $("receipts").hidden = receipts.length === 0;
  }

  /* The refunds of one payment (amount and status), under its receipt, as its receipt page
     shows them: a payer who was refunded sees it where they look for their payments. */
  async function showRefunds(paymentId, item) {
    const answer = await fetchJson("/refunds/of-payment/" + encodeURIComponent(paymentId));
    if (!answer.ok || answer.body.items.length === 0) return;
    const list = document.createElement("dl");
    list.className = "facts refunds";
    answer.body.items.forEach((refund) => {
      const amount = document.createElement("dt");
      amount.textContent = I18N.t("refunds_title") + " " + formatYuan(refund.amount.yuan);
      const status = document.createElement("dd");
      status.textContent = I18N.t("refund_" + refund.status);
      status.dataset.refundStatus = refund.status;
      list.append(amount, status);
    });
    item.append(list);
  }

  function checkSurplus() {
    const fen = toFen($("amount").value);
    const excess = fen === null || !overview ? 0 : fen - overview.remaining.fen;
    $("surplus-warning").hidden = excess <= 0;
    if (excess > 0) $("surplus-text").textContent = I18N.t("surplus_text", { excess: yuan(excess) });
  }

  async function load() {
    const answer = await fetchJson("/collection/cases/" + encodeURIComponent(account));
    if (!answer.ok) {
      show($("load-error"), answer.network ? I18N.t("err_network") : I18N.problemText(answer.problem));
      // A mistyped or unknown number: let the payer type it again here.
      if (!answer.network && answer.status < 500) {
        $("find-form").hidden = false;
        $("account").value = account;
      }
      return;
    }
    overview = answer.body;
    if (!$("amount").value && overview.remaining.fen > 0) $("amount").value = overview.remaining.yuan;
    render();
  }

  function fail(text) {
    show($("message"), text);
    $("pay-button").disabled = false;
    $("pay-button").textContent = I18N.t("pay_button");
  }

  function busy() {
    show($("message"), "");
    $("pay-button").disabled = true;
    $("pay-button").textContent = I18N.t("paying");
  }

  /* The amount as fen and whether it overpays, or null after showing why it is refused. */
  function chosenAmount() {
    const fen = toFen($("amount").value);
    if (fen === null || fen <= 0) {
      fail(I18N.t("err_amount"));
      return null;
    }
    const surplus = fen > overview.remaining.fen;
    if (surplus && !$("accept-surplus").checked) {
      fail(I18N.t("err_accept_surplus"));
      return null;
    }
    return { fen, surplus };
  }

  /* Open the payment on the server: one idempotency key per attempt, kept on a retry. */
  async function startPayment(choice) {
    if (!attempt || attempt.amount !== choice.fen || attempt.surplus !== choice.surplus) {
      attempt = { key: crypto.randomUUID(), amount: choice.fen, surplus: choice.surplus };
    }
    const started = await fetchJson(
      "/collection/cases/" + encodeURIComponent(account) + "/payments", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": attempt.key },
        body: JSON.stringify({ amount: choice.fen, accept_surplus: choice.surplus })
      });
    if (!started.ok) {
      fail(started.network ? I18N.t("err_network") : I18N.problemText(started.problem));
      return null;
    }
    attempt = null; // the payment exists: a new attempt is a new payment
    return started.body;
  }

  function receiptUrl(payment) {
    return payment.receipt_page + "?lang=" + I18N.lang;
  }

  async function payByCard(event) {
    event.preventDefault();
    const choice = chosenAmount();
    if (!choice) return;
    busy();
    const tokenResult = await stripe.createToken(card);
    if (tokenResult.error || !tokenResult.token) return fail(I18N.t("err_card"));
    const started = await startPayment(choice);
    if (!started) return;
    const payment = started.payment;
    const confirmed = await fetchJson(
      "/collection/payments/" + encodeURIComponent(payment.payment_id) + "/card", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ card_token: tokenResult.token.id })
      });
    if (confirmed.network || confirmed.status >= 500) {
      // The charge may have gone through: show the payment's real status, never pay twice.
      window.location.assign(receiptUrl(payment));
      return;
    }
    if (!confirmed.ok) {
      fail(I18N.problemText(confirmed.problem));
      // Another payment paid the case meanwhile: show what remains now, and the surplus warning.
      if (((confirmed.problem || {}).type || "").endsWith("/collection/amount-refused")) load();
      return;
    }
    if (confirmed.body.client_secret) {
      // The card asks for 3-D Secure: Stripe.js carries the payer through it.
      await stripe.confirmCardPayment(confirmed.body.client_secret);
    }
    window.location.assign(receiptUrl(confirmed.body.payment));
  }

  /* Alipay leaves for the wallet and comes back to the receipt page; WeChat Pay shows its QR
   * code over this page. Stripe.js does both; a stand-in without them shows no wallet. */
  const WALLETS = {
    alipay: (secret, payment) => stripe.confirmAlipayPayment(secret, {
      return_url: window.location.origin + receiptUrl(payment)
    }),
    wechat_pay: (secret) => stripe.confirmWechatPayPayment(secret, {
      payment_method_options: { wechat_pay: { client: "web" } }
    })
  };
  const CONFIRMS = { alipay: "confirmAlipayPayment", wechat_pay: "confirmWechatPayPayment" };

  async function payByWallet(wallet) {
    const choice = chosenAmount();
    if (!choice) return;
    busy();
    const started = await startPayment(choice);
    if (!started) return;
    const result = await WALLETS[wallet](started.client_secret, started.payment);
    if (result && result.error) return fail(I18N.t("err_collection/payment-declined"));
    window.location.assign(receiptUrl(started.payment));
  }

  (body.dataset.wallets || "").split(",").filter((w) => w in CONFIRMS).forEach((wallet) => {
    if (typeof stripe[CONFIRMS[wallet]] !== "function") return;
    const button = document.querySelector('[data-wallet="' + wallet + '"]');
    button.hidden = false;
    button.addEventListener("click", () => payByWallet(wallet));
    $("wallets").hidden = false;
  });

  $("amount").addEventListener("input", checkSurplus);
  $("pay-all").addEventListener("click", () => {
    if (!overview) return;
    $("amount").value = overview.remaining.yuan;
    checkSurplus();
  });
  $("pay-form").addEventListener("submit", payByCard);
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const digits = $("account").value.replace(/[\s-]/g, "");
    window.location.assign("/pay/" + encodeURIComponent(digits) + "?lang=" + I18N.lang);
  });
  I18N.onChange(render);
  load();
})();
