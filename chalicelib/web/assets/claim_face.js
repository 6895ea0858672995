/* The face step of the claim page: consent, the camera (or a photo where there is none), the
   result with what to do on a refusal, and the confirmation that releases the payout. The photo
   goes to the server once, for this check; the page keeps nothing of it. */
"use strict";

Object.assign(WORDS.zh, {
  face_title: "身份核验（刷脸）",
  face_consent_what: "为确认由您本人领取案款，将拍摄一张您的面部照片，与法院留存的您的照片比对。",
  face_consent_keep: "照片只用于本次比对，比对后立即删除；法院只保留比对结果（是否一致、分数、时间）。" +
    "核验通过后须在 5 分钟内确认领取。",
  face_agree: "同意并开始核验",
  face_hint: "请在光线充足处正对镜头，让整张脸位于画面中央，画面中只有您一人。",
  face_shoot: "拍照并核验", face_upload: "上传照片",
  face_no_camera: "无法使用摄像头，请上传一张您本人的正面照片。",
  face_checking: "正在核验，请稍候…", face_retry: "重新拍照",
  face_match: "核验通过：是您本人。请在 5 分钟内确认领取。",
  face_no_match: "核验未通过：照片与法院留存的照片不一致。还可尝试 {left} 次。",
  face_confirm: "确认领取 ¥{amount}，转入 {destination}",
  face_releasing: "正在提交…",
  face_expired: "核验已过期，请重新拍照。",
  face_review: "请法院工作人员人工核对",
  face_review_keep: "人工核对时，刚才的照片将加密保存，供法院工作人员与留存照片比对；核对完毕或保存期满即删除。",
  face_review_pending: "已提交人工核对，请保持本页打开，核对完成后将在此显示结果。",
  face_review_refused: "人工核对未通过，请联系承办法官。",
  face_review_expired: "人工核对已超时，请重新拍照或联系法院。",
  face_review_granted: "人工核对通过：是您本人。请在 5 分钟内确认领取。",
  "err_identity/review-refused": "目前无法提交人工核对，请重新拍照或联系法院。",
  "err_identity/claim-locked": "核验失败次数过多，本次领取已锁定，承办法官已收到通知，请联系法院。",
  "err_identity/no-reference-photo": "法院尚未留存您的照片，请联系承办法官。",
  "err_identity/photo-refused": "照片无法使用，请重新拍照。",
  "err_identity/grant-refused": "核验已过期或已使用，请重新拍照。",
  "err_identity/face-check-busy": "核验服务繁忙，请一分钟后再试。",
  "err_identity/face-check-unavailable": "核验服务暂不可用，请稍后再试。",
  "err_identity/liveness-required": "本院要求活体检测，本页面无法进行，请联系承办法院领取。",
  "err_payouts/face-check-unavailable": "本院暂不支持刷脸领取，请联系法院财务。",
  err_conflict: "本次发放当前不需要核验。"
});
Object.assign(WORDS.en, {
  face_title: "Identity check (face)",
  face_consent_what: "To make sure you are the one collecting the money, a photo of your face " +
    "is taken and compared with the photo the court holds of you.",
  face_consent_keep: "The photo is used for this comparison only and deleted as soon as it is " +
    "decided; the court keeps only the result (match or not, score, time). After a match, " +
    "confirm within 5 minutes.",
  face_agree: "I agree, start the check",
  face_hint: "Face the camera in good light, your whole face in the middle, only you in the " +
    "picture.",
  face_shoot: "Take the photo and check", face_upload: "Upload a photo",
  face_no_camera: "The camera cannot be used; upload a photo of your face instead.",
  face_checking: "Checking, please wait…", face_retry: "Take another photo",
  face_match: "Verified: it is you. Confirm within 5 minutes.",
  face_no_match: "Not verified: the photo does not match the court's photo of you. " +
    "{left} attempts left.",
  face_confirm: "Collect ¥{amount} into {destination}",
  face_releasing: "Sending…",
  face_expired: "The check has expired; take another photo.",
  face_review: "Ask a court officer to check",
  face_review_keep: "For a check by a person, the photo you just took is kept encrypted for a " +
    "court officer to compare with the court's photo, and deleted once decided or when its " +
    "retention ends.",
  face_review_pending: "Sent for a check by a person; keep this page open, the result appears here.",
  face_review_refused: "The check by a person did not confirm you; contact the case officer.",
  face_review_expired: "The check by a person timed out; take another photo or contact the court.",
  face_review_granted: "Checked by a person: it is you. Confirm within 5 minutes.",
  "err_identity/review-refused": "A check by a person cannot be asked now; take another photo " +
    "or contact the court.",
  "err_identity/claim-locked": "Too many failed checks: this claim is locked and the case " +
    "officer has been told; please contact the court.",
  "err_identity/no-reference-photo": "The court holds no photo of you yet; contact the case " +
    "officer.",
  "err_identity/photo-refused": "The photo cannot be used; take another one.",
  "err_identity/grant-refused": "The check has expired or was used; take another photo.",
  "err_identity/face-check-busy": "The check is busy; try again in a minute.",
  "err_identity/face-check-unavailable": "The check is not available; try again later.",
  "err_identity/liveness-required": "This court needs a live face check, which this page " +
    "cannot do; contact the court to collect the money.",
  "err_payouts/face-check-unavailable": "This court does not pay by face check; contact its " +
    "finance office.",
  err_conflict: "This payout is not waiting for an identity check."
});

(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_SIDE = 640; // what the check needs; a smaller photo travels faster
  let code = null;
  let claim = null;
  let stream = null;
  let grant = null;
  let result = null; // the last answer, so a language switch can show it again
  let lastPhoto = null; // kept only until the result is shown, for a check by a person
  let review = null; // the state of a check by a person, while the page follows it
  const REVIEW_POLL_MS = 10000;

  function show(step) {
    ["face-consent", "face-capture", "face-result"].forEach((id) => { $(id).hidden = id !== step; });
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
  }

  async function startCamera() {
    show("face-capture");
    $("face-busy").hidden = true;
    $("face-shoot").hidden = true;
    delete $("face-video").dataset.ready;
    const media = navigator.mediaDevices;
    if (media && media.getUserMedia) {
      try {
        stream = await media.getUserMedia({
          video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
          audio: false
        });
        const video = $("face-video");
        video.onloadeddata = () => { // the button appears once there is a picture to take
          video.dataset.ready = "yes";
          $("face-shoot").hidden = false;
        };
        video.srcObject = stream;
        video.hidden = false;
        $("face-no-camera").hidden = true;
        return;
      } catch (error) {
        stopCamera(); // refused or absent: the photo upload below stays
      }
    }
    $("face-video").hidden = true;
    $("face-shoot").hidden = true;
    $("face-no-camera").hidden = false;
  }

  function drawScaled(source, width, height) {
    const canvas = $("face-canvas");
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.9).split(",", 2)[1];
  }

  function shoot() {
    const video = $("face-video");
    if (!video.videoWidth) return; // the camera has not given a picture yet
    send(drawScaled(video, video.videoWidth, video.videoHeight));
  }

  function upload() {
    const file = $("face-upload").files[0];
    if (!file) return;
    const refused = () => showResult({ problem: { type: "/problems/identity/photo-refused" } });
    // Read as a data: URL: the page's content security policy allows images from this site and
    // data: only, so a blob: URL of the file would never load.
    const reader = new FileReader();
    reader.onload = () => {
      const image = new Image();
      image.onload = () => send(drawScaled(image, image.naturalWidth, image.naturalHeight));
      image.onerror = refused;
      image.src = reader.result;
    };
    reader.onerror = refused;
    reader.readAsDataURL(file);
    $("face-upload").value = "";
  }

  async function send(photo) {
    lastPhoto = photo;
    $("face-busy").hidden = false;
    $("face-shoot").disabled = true;
    const answer = await fetchJson("/claims/face-check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, photo })
    });
    $("face-shoot").disabled = false;
    $("face-busy").hidden = true;
    showResult(answer.ok ? { check: answer.body } : answer);
  }

  function render() {
    if (!result) return;
    const outcome = $("face-outcome");
    const retry = $("face-retry");
    const confirm = $("face-confirm");
    const canReview = Boolean(lastPhoto) && Boolean(result.check) &&
      result.check.outcome !== "match" && !result.check.locked && !review;
    $("face-review").hidden = !canReview;
    $("face-review-note").hidden = !canReview;
    confirm.hidden = true;
    retry.hidden = false;
    outcome.className = "notice";
    outcome.dataset.outcome = "";
    if (result.review) {
      outcome.dataset.outcome = "review_" + result.review;
      const shown = result.review === "approved" ? "pending" : result.review; // granted next poll
      outcome.textContent = I18N.t("face_review_" + shown);
      retry.hidden = result.review === "pending" || result.review === "granted";
      if (result.review === "granted") {
        confirm.textContent = I18N.t("face_confirm", {
          amount: claim.amount.yuan, destination: claim.destination
        });
        confirm.hidden = false;
      }
    } else if (result.check) {
      const check = result.check;
      outcome.dataset.outcome = check.outcome;
      if (check.outcome === "match") {
        outcome.textContent = I18N.t("face_match");
        confirm.textContent = I18N.t("face_confirm", {
          amount: claim.amount.yuan, destination: claim.destination
        });
        confirm.hidden = false;
        retry.hidden = true;
      } else if (check.outcome === "no_match") {
        outcome.textContent = I18N.t("face_no_match", { left: check.attempts_left });
        outcome.className = "notice error";
        retry.hidden = check.locked;
        if (check.locked) outcome.textContent = I18N.t("err_identity/claim-locked");
      } else {
        outcome.textContent = check.advice ? check.advice[I18N.lang] : I18N.t("err_other");
        outcome.className = "notice error";
      }
    } else {
      outcome.textContent = result.network ? I18N.t("err_network") : I18N.problemText(result.problem);
      outcome.className = "notice error";
      const slug = ((result.problem && result.problem.type) || "").split("/problems/")[1];
      retry.hidden = ["identity/claim-locked", "identity/liveness-required", "conflict"].includes(slug);
    }
  }

  async function askReview() {
    $("face-review").disabled = true;
    const answer = await fetchJson("/claims/face-review", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, photo: lastPhoto })
    });
    $("face-review").disabled = false;
    lastPhoto = null; // the court holds it now, for the review only
    if (!answer.ok) {
      showResult(answer);
      return;
    }
    review = "pending";
    showResult({ review });
    window.setTimeout(followReview, REVIEW_POLL_MS);
  }

  async function followReview() {
    const answer = await fetchJson("/claims/face-review/status", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code })
    });
    if (!answer.ok) {
      review = null;
      showResult(answer);
      return;
    }
    review = answer.body.state;
    if (review === "granted") {
      showResult({ review, grant: answer.body.grant });
    } else {
      showResult({ review });
      if (review === "pending" || review === "approved") {
        window.setTimeout(followReview, REVIEW_POLL_MS);
      }
    }
  }

  function showResult(answer) {
    result = answer;
    if (!answer.review) lastPhoto = answer.check && answer.check.outcome !== "match" ? lastPhoto : null;
    grant = answer.check && answer.check.outcome === "match" ? answer.check.grant :
      (answer.review === "granted" ? answer.grant : null);
    if (grant) stopCamera();
    show("face-result");
    render();
  }

  async function release() {
    const confirm = $("face-confirm");
    confirm.disabled = true;
    confirm.textContent = I18N.t("face_releasing");
    const answer = await fetchJson("/claims/release", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, grant })
    });
    confirm.disabled = false;
    if (!answer.ok) {
      grant = null;
      showResult(answer);
      return;
    }
    grant = null;
    result = null;
    $("face").hidden = true;
    document.dispatchEvent(new CustomEvent("claim:released", { detail: answer.body }));
  }

  document.addEventListener("claim:loaded", (event) => {
    ({ claim, code } = event.detail);
    if (claim.status !== "ready") {
      stopCamera();
      $("face").hidden = true;
    } else if ($("face").hidden && !result && !stream) {
      $("face").hidden = false;
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("face-agree").addEventListener("click", startCamera);
    $("face-shoot").addEventListener("click", shoot);
    $("face-upload").addEventListener("change", upload);
    $("face-retry").addEventListener("click", () => {
      result = null; review = null; lastPhoto = null; startCamera();
    });
    $("face-review").addEventListener("click", askReview);
    $("face-confirm").addEventListener("click", release);
  });
  I18N.onChange(render);
})();
