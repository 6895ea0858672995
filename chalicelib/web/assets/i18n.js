/* The pages' words in Chinese (the default) and English, and the language switch. */
"use strict";

const WORDS = {
  zh: {
    pay_title: "案款缴纳", receipt_title: "缴款回执", switch_to: "English",
    case_number: "案号", account_number: "案款账号", court: "法院",
    remaining: "尚欠",
    paid_in_full: "本案应缴款项已全部缴清。", not_open: "本案当前不接受缴款。",
    your_receipts: "本机缴款回执", find_again: "请重新输入案款账号",
    amount_label: "缴款金额（元）", pay_all: "全部缴清",
    instalments: "可分期缴纳：每次缴纳部分金额。",
    surplus_text: "缴款金额超出尚欠金额 {excess} 元。超出部分为多缴款，依申请退还。",
    accept_surplus: "我确认多缴，多缴部分依申请退还。",
    card_label: "银行卡", card_hint: "卡号仅提交给支付机构，法院系统不保存卡号。",
    pay_button: "确认支付", paying: "正在支付…",
    or_wallet: "或使用", pay_alipay: "支付宝", pay_wechat_pay: "微信支付",
    privacy: "本页面不显示当事人个人信息。",
    enter_account: "请输入执行通知书上的案款账号（16位）", find_case: "查询案件",
    amount: "金额", paid_at: "到账时间", reference: "支付流水号", receipt_number: "收据编号",
    pdf_zh: "下载电子收据（中文）", pdf_en: "Download receipt (English)",
    back_to_case: "返回缴款页面",
    status_paid: "已支付", status_processing: "处理中", status_unpaid: "待支付",
    status_failed: "支付失败",
    refunds_title: "退付", refund_approved: "退付已批准", refund_processing: "退付处理中",
    refund_paid: "已退回原付款账户", refund_failed: "退付未成功，法院将重新办理",
    err_amount: "请输入大于 0 的金额，最多两位小数。",
    err_accept_surplus: "金额超出尚欠金额，请先确认多缴。",
    err_card: "银行卡信息有误，请检查后重试。",
    err_network: "网络异常，请稍后重试。",
    "err_cases/invalid-account-number": "案款账号有误（校验位不符），请核对执行通知书。",
    "err_cases/not-found": "未找到该案款账号对应的案件。",
    "err_collection/case-not-payable": "本案当前不接受缴款。",
    "err_collection/amount-refused": "缴款金额超出尚欠金额，请确认多缴后再支付。",
    "err_collection/payment-declined": "支付被拒绝，请更换银行卡后重试。",
    "err_collection/payment-not-found": "未找到该笔缴款。",
    "err_collection/rail-unavailable": "支付服务暂不可用，请稍后重试。",
    "err_validation-failed": "输入有误，请检查后重试。",
    "err_too-many-requests": "操作过于频繁，请稍后再试。",
    err_other: "操作未完成，请稍后重试。"
  },
  en: {
    pay_title: "Pay enforcement money", receipt_title: "Payment receipt", switch_to: "中文",
    case_number: "Case No.", account_number: "Case account", court: "Court",
    remaining: "Remaining",
    paid_in_full: "This case has been paid in full.",
    your_receipts: "Receipts of payments made on this device",
    find_again: "Type the case account number again",
    not_open: "This case does not take payments now.",
    amount_label: "Amount (yuan)", pay_all: "Pay all",
    instalments: "You may pay in instalments, part of the amount each time.",
    surplus_text: "This is {excess} yuan more than remains. The excess is an overpayment, " +
      "refunded on application.",
    accept_surplus: "I mean to overpay; the excess is refunded on application.",
    card_label: "Bank card",
    card_hint: "Card numbers go to the payment processor only; the court never stores them.",
    pay_button: "Pay", paying: "Paying…",
    or_wallet: "or pay with", pay_alipay: "Alipay", pay_wechat_pay: "WeChat Pay",
    privacy: "This page shows no party's personal data.",
    enter_account: "Enter the 16-digit case account number from the enforcement notice",
    find_case: "Find the case",
    amount: "Amount", paid_at: "Received at", reference: "Payment reference",
    receipt_number: "Receipt No.",
    pdf_zh: "下载电子收据（中文）", pdf_en: "Download receipt (English)",
    back_to_case: "Back to the case",
    status_paid: "Paid", status_processing: "Processing", status_unpaid: "Not paid yet",
    status_failed: "Payment failed",
    refunds_title: "Refunds", refund_approved: "Refund approved",
    refund_processing: "Refund in progress", refund_paid: "Refunded to the original account",
    refund_failed: "Refund not completed; the court will reissue it",
    err_amount: "Enter an amount above 0 with at most two decimals.",
    err_accept_surplus: "The amount is more than remains; confirm the overpayment first.",
    err_card: "The card details are not valid; check them and try again.",
    err_network: "The network failed; try again in a moment.",
    "err_cases/invalid-account-number":
      "This case account number is mistyped (its check digit does not match).",
    "err_cases/not-found": "No case has this account number.",
    "err_collection/case-not-payable": "This case does not take payments now.",
    "err_collection/amount-refused": "The amount is more than remains; confirm the overpayment.",
    "err_collection/payment-declined": "The payment was declined; try another card.",
    "err_collection/payment-not-found": "No such payment.",
    "err_collection/rail-unavailable": "The payment service is unavailable; try again later.",
    "err_validation-failed": "Some input is not valid; check it and try again.",
    "err_too-many-requests": "Too many tries from this device; wait a minute and try again.",
    err_other: "That did not work; try again later."
  }
};

const I18N = (() => {
  const params = new URLSearchParams(window.location.search);
  let lang = params.get("lang") || window.localStorage.getItem("lang") || "zh";
  if (!(lang in WORDS)) lang = "zh";
  const listeners = [];

  function t(key, values) {
    let text = WORDS[lang][key] || WORDS.zh[key] || key;
    Object.entries(values || {}).forEach(([name, value]) => {
      text = text.replace("{" + name + "}", value);
    });
    return text;
  }

  function apply() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach((node) => {
      node.textContent = t(node.dataset.t);
    });
    const title = document.querySelector("h1[data-t]");
    if (title) document.title = title.textContent;
    const button = document.getElementById("lang-switch");
    if (button) button.textContent = t("switch_to");
    listeners.forEach((listener) => listener());
  }

  function problemText(problem) {
    const slug = ((problem && problem.type) || "").split("/problems/")[1] || "";
    const key = "err_" + slug;
    return key in WORDS[lang] ? t(key) : t("err_other");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("lang-switch");
    if (button) {
      button.addEventListener("click", () => {
        lang = lang === "zh" ? "en" : "zh";
        window.localStorage.setItem("lang", lang);
        apply();
      });
    }
    apply();
  });

  return {
    t, problemText,
    get lang() { return lang; },
    onChange(listener) { listeners.push(listener); }
  };
})();

/* "123456.00" -> "¥123,456.00", the same on every page: large sums are read at a glance. */
function formatYuan(yuanText) {
  const [whole, frac] = yuanText.split(".");
  return "¥" + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + frac;
}

/* The receipts of payments made on this device, per case account: the pay page lists them once
 * the case is paid in full. Kept in the payer's browser only. */
const RECEIPTS = {
  key: (account) => "receipts:" + account,
  list(account) {
    try {
      return JSON.parse(window.localStorage.getItem(RECEIPTS.key(account)) || "[]");
    } catch (error) {
      return [];
    }
  },
  remember(account, paymentId, receiptNumber) {
    const known = RECEIPTS.list(account).filter((r) => r.payment_id !== paymentId);
    known.push({ payment_id: paymentId, receipt_number: receiptNumber });
    window.localStorage.setItem(RECEIPTS.key(account), JSON.stringify(known.slice(-20)));
  }
};

async function fetchJson(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    return { ok: false, problem: null, network: true };
  }
  const body = await response.json().catch(() => null);
  return response.ok ? { ok: true, body } : { ok: false, problem: body, status: response.status };
}
