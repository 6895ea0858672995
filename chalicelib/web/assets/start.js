/* The start page: the payer types the case account number from the enforcement notice. */
"use strict";

(() => {
  const form = document.getElementById("find-form");
  const message = document.getElementById("message");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const digits = document.getElementById("account").value.replace(/[\s-]/g, "");
    const answer = await fetchJson("/collection/cases/" + encodeURIComponent(digits));
    if (!answer.ok) {
      message.textContent = answer.network
        ? I18N.t("err_network") : I18N.problemText(answer.problem);
      message.hidden = false;
      return;
    }
    window.location.assign("/pay/" + answer.body.account_number + "?lang=" + I18N.lang);
  });
})();
