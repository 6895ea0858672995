/* The creditor's claim page: the case, the amount, the masked account, and the status until
   paid. The claim code arrives in the URL fragment, which browsers never send to a server; it
   is moved to this tab's session storage and taken out of the address bar at once. */
"use strict";

Object.assign(WORDS.zh, {
  claim_title: "案款领取", claim_creditor: "申请执行人", claim_destination: "收款账户",
  claim_privacy: "本页面不显示身份证号和手机号；请勿将短信链接转发他人。",
  claim_ready: "待领取", claim_ready_detail: "案款已批准发放，完成身份核验后将转入上述账户。",
  claim_deferred: "暂缓发放", claim_deferred_detail: "暂缓至 {until}：{reason}",
  claim_sending: "发放中", claim_sending_detail: "款项正在转入您的账户，请稍候。",
  claim_paid: "已发放", claim_paid_detail: "款项已转入上述账户。",
  claim_failed: "发放未成功", claim_failed_detail: "银行未能入账，法院将与您联系重新发放。",
  claim_closed: "已结束", claim_closed_detail: "本次发放已结束，如有疑问请联系承办法院。",
  claim_no_code: "链接不完整，请从短信中重新打开。",
  "err_payouts/claim-not-found": "领取链接无效或已过期，请联系承办法院重新发送。",
  "err_payouts/too-many-attempts": "尝试次数过多，请稍后再试。"
});
Object.assign(WORDS.en, {
  claim_title: "Collect your money", claim_creditor: "Creditor",
  claim_destination: "Paid to",
  claim_privacy: "This page shows no ID or phone number; do not forward the SMS link.",
  claim_ready: "Ready", claim_ready_detail:
    "The payout is approved; after your identity check it goes to the account above.",
  claim_deferred: "Deferred", claim_deferred_detail: "Deferred until {until}: {reason}",
  claim_sending: "Being paid", claim_sending_detail: "The money is on its way to your account.",
  claim_paid: "Paid", claim_paid_detail: "The money was paid into the account above.",
  claim_failed: "Not paid", claim_failed_detail:
    "The bank could not credit the account; the court will contact you to pay again.",
  claim_closed: "Closed", claim_closed_detail:
    "This payout has ended; contact the court that handles the case.",
  claim_no_code: "The link is incomplete; open it again from the SMS.",
  "err_payouts/claim-not-found":
    "This claim link is not valid or has expired; ask the court for a new one.",
  "err_payouts/too-many-attempts": "Too many attempts; try again in a few minutes."
});

(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 5000;
  const MAX_POLLS = 360;
  const SETTLED = ["paid", "failed", "closed"];
  let claim = null;
  let polls = 0;

  function takeCode() {
    const fromLink = window.location.hash.slice(1);
    if (fromLink) {
      window.sessionStorage.setItem("claim-code", fromLink);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return window.sessionStorage.getItem("claim-code");
  }

  function render() {
    if (!claim) return;
    const status = $("status");
    status.textContent = I18N.t("claim_" + claim.status);
    status.className = "status " + claim.status;
    status.dataset.state = claim.status;
    $("status-detail").textContent = I18N.t("claim_" + claim.status + "_detail", {
      until: claim.deferred_until || "", reason: claim.deferral_reason || ""
    });
    $("case-number").textContent = claim.case_number;
    $("court-name").textContent = claim.court_name;
    $("creditor").textContent = claim.creditor_name;
    $("amount").textContent = "¥" + claim.amount.yuan;
    $("destination").textContent = claim.destination;
    $("claim").hidden = false;
  }

  function showError(text) {
    $("load-error").textContent = text;
    $("load-error").hidden = false;
  }

  async function load(code) {
    const answer = await fetchJson("/claims/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code })
    });
    if (!answer.ok) {
      showError(answer.network ? I18N.t("err_network") : I18N.problemText(answer.problem));
      if ((answer.network || answer.status >= 500) && ++polls < MAX_POLLS) {
        window.setTimeout(() => load(code), POLL_MS);
      }
      return;
    }
    $("load-error").hidden = true;
    claim = answer.body;
    render();
    document.dispatchEvent(new CustomEvent("claim:loaded", { detail: { claim, code } }));
    if (!SETTLED.includes(claim.status) && ++polls < MAX_POLLS) {
      window.setTimeout(() => load(code), POLL_MS);
    }
  }

  // The face step (claim_face.js) releases the payout and hands back the claim as it now is.
  document.addEventListener("claim:released", (event) => {
    claim = event.detail;
    render();
  });

  I18N.onChange(render);
  const code = takeCode();
  if (code) {
    load(code);
  } else {
    document.addEventListener("DOMContentLoaded", () => showError(I18N.t("claim_no_code")));
  }
})();
