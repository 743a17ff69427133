// The reviewer workbench: player, keyboard-first word editing, submit/skip/stop, withdrawal watch.
// Loaded from /static (CSP forbids inline script). The audio is fetched once through a single-use
// URL into memory; replays never hit the server again, and nothing offers a download.
"use strict";

(function () {
  const task = document.getElementById("task");
  if (!task) return;
  const taskId = task.dataset.task;
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const wordsBox = document.getElementById("words");
  const message = document.getElementById("message");
  const started = Date.now();
  const audio = new Audio();
  audio.preload = "auto";
  let withdrawn = false;
  let lastActivity = Date.now();
  let piiMisses = 0;
  const speeds = [0.5, 0.75, 1.0, 1.25, 1.5];
  let speedIndex = 2;

  const words = () => Array.from(wordsBox.querySelectorAll("input.word"));
  const post = (path, body, keepalive) =>
    fetch(`/staff/review/tasks/${taskId}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
      keepalive: !!keepalive,
    });

  // --- audio --------------------------------------------------------------------------------
  async function loadAudio() {
    const response = await fetch(task.dataset.audio, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) { showWithdrawn(); return; }
    const bytes = await response.arrayBuffer();
    audio.src = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    task.dataset.audioReady = "1";
    drawWaveform(bytes.slice(0));
  }

  async function drawWaveform(bytes) {
    const canvas = document.getElementById("waveform");
    try {
      const context = new (window.AudioContext || window.webkitAudioContext)();
      const buffer = await context.decodeAudioData(bytes);
      const data = buffer.getChannelData(0);
      const g = canvas.getContext("2d");
      const w = canvas.width, h = canvas.height, step = Math.max(1, Math.floor(data.length / w));
      g.fillStyle = "#5b6573";
      for (let x = 0; x < w; x++) {
        let peak = 0;
        for (let i = x * step; i < (x + 1) * step && i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
        g.fillRect(x, h / 2 - peak * h / 2, 1, Math.max(1, peak * h));
      }
      context.close();
    } catch (e) { /* the waveform is a help, not a requirement */ }
  }

  // "Hear the whole clip": an explicit, audited request; the page then plays the whole clip and
  // each word carries its time in it (by default only the listening windows are served).
  async function hearWholeClip() {
    if (withdrawn || task.dataset.whole === "1") return;
    const response = await post("whole");
    if (!response.ok) { showWithdrawn(); return; }
    const answer = await response.json();
    const byIndex = new Map(answer.words.map((w) => [String(w.index), w]));
    for (const input of words()) {
      const w = byIndex.get(input.dataset.index);
      if (w) { input.dataset.start = w.start; input.dataset.end = w.end; }
    }
    task.dataset.audio = answer.audio;
    task.dataset.whole = "1";
    document.getElementById("windows").hidden = true;
    audio.pause();
    const canvas = document.getElementById("waveform");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    await loadAudio();
    audio.addEventListener("loadedmetadata", () => { document.getElementById("clip-length").textContent = audio.duration.toFixed(1); }, { once: true });
  }
  const wholeButton = document.getElementById("whole");
  if (wholeButton) wholeButton.addEventListener("click", hearWholeClip);
  // --- playhead and seeking -------------------------------------------------------------------
  const wave = document.getElementById("wave");
  const playhead = document.getElementById("playhead");
  const duration = () => (isFinite(audio.duration) && audio.duration > 0 ? audio.duration : +task.dataset.duration || 1);
  function showPosition() {
    const t = audio.currentTime || 0;
    playhead.style.left = Math.min(100, (100 * t) / duration()).toFixed(2) + "%";
    wave.setAttribute("aria-valuenow", t.toFixed(1));
    wave.setAttribute("aria-valuetext", t.toFixed(1) + " seconds");
    document.getElementById("clock").textContent = t.toFixed(1);
    task.dataset.position = t.toFixed(2);
  }
  function frame() { showPosition(); if (!audio.paused) requestAnimationFrame(frame); }
  function seek(seconds, play) {
    if (withdrawn || !audio.src) return;
    audio.currentTime = Math.max(0, Math.min(duration(), seconds));
    showPosition();
    if (play && audio.paused) audio.play();
  }
  wave.addEventListener("click", (event) => {
    const box = wave.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * duration(), true);
  });
  wave.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowDown: -1, ArrowUp: 1 }[event.key];
    if (step !== undefined) seek(audio.currentTime + step, false);
    else if (event.key === "Home") seek(0, false);
    else if (event.key === "End") seek(duration(), false);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  // A click on a word plays from its start (the word keeps focus for editing).
  wordsBox.addEventListener("click", (event) => {
    const input = event.target.closest("input.word");
    if (input && input.dataset.start !== undefined && input.dataset.start !== "") seek(+input.dataset.start, true);
  });

  function togglePlay() {
    if (withdrawn || !audio.src) return;
    if (audio.paused) audio.play(); else audio.pause();
  }
  function replayTwoSeconds() {
    if (withdrawn || !audio.src) return;
    audio.currentTime = Math.max(0, audio.currentTime - 2);
    audio.play();
  }
  function changeSpeed(delta) {
    speedIndex = Math.min(speeds.length - 1, Math.max(0, speedIndex + delta));
    audio.playbackRate = speeds[speedIndex];
    document.getElementById("speed").textContent = speeds[speedIndex].toFixed(2) + "×";
    task.dataset.speed = String(speeds[speedIndex]);
  }
  audio.addEventListener("play", () => { task.dataset.playing = "1"; requestAnimationFrame(frame); });
  audio.addEventListener("seeked", showPosition);
  audio.addEventListener("pause", () => { task.dataset.playing = "0"; });
  audio.addEventListener("timeupdate", () => {
    showPosition();
    for (const input of words()) {
      const on = input.dataset.start !== undefined && audio.currentTime >= +input.dataset.start && audio.currentTime < +input.dataset.end;
      input.classList.toggle("playing", on && !audio.paused);
    }
  });

  // --- words --------------------------------------------------------------------------------
  function jumpDoubtful(backwards) {
    const all = words();
    const doubtful = all.filter((w) => w.dataset.low === "1");
    const current = all.indexOf(document.activeElement);
    const order = backwards ? doubtful.slice().reverse() : doubtful;
    const next = order.find((w) => (backwards ? all.indexOf(w) < current : all.indexOf(w) > current));
    if (next) { next.focus(); next.select(); return true; }
    return false;
  }
  function markUnintelligible() {
    const input = document.activeElement;
    if (!input || !input.classList.contains("word")) return;
    input.classList.toggle("unintelligible");
    changed(input, false);
  }
  function markPiiMiss() {
    const input = document.activeElement;
    if (!input || !input.classList.contains("word")) return;
    input.classList.toggle("pii-miss");
    countPiiMisses();
    changed(input, false);
  }
  function countPiiMisses() {
    piiMisses = wordsBox.querySelectorAll("input.pii-miss").length;
    document.getElementById("pii-misses").textContent = piiMisses;
  }
  wordsBox.addEventListener("input", (event) => {
    const input = event.target;
    input.size = Math.max(3, input.value.length);
    changed(input, true);
  });

  // --- undo / redo and the saved draft -----------------------------------------------------------
  // The whole editor state is small (words, marks, tags): each change keeps the state before it.
  // Typing in one word within 1.5 s is one step. Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes.
  const tagBoxes = () => [document.getElementById("tag-accidental"), document.getElementById("tag-not-english")];
  function snapshot() {
    const all = words();
    const marked = (cls) => all.flatMap((w, i) => (w.classList.contains(cls) ? [i] : []));
    const tags = [];
    if (tagBoxes()[0].checked) tags.push("accidental_activation");
    if (tagBoxes()[1].checked) tags.push("not_english");
    return { words: all.map((w) => w.value), unintelligible: marked("unintelligible"), pii_miss: marked("pii-miss"), tags };
  }
  function restore(state) {
    const all = words();
    let first = null;
    all.forEach((w, i) => {
      const u = state.unintelligible.includes(i), p = state.pii_miss.includes(i);
      if (w.value !== state.words[i] || w.classList.contains("unintelligible") !== u || w.classList.contains("pii-miss") !== p) first = first || w;
      w.value = state.words[i];
      w.size = Math.max(3, w.value.length);
      w.classList.toggle("unintelligible", u);
      w.classList.toggle("pii-miss", p);
    });
    tagBoxes()[0].checked = state.tags.includes("accidental_activation");
    tagBoxes()[1].checked = state.tags.includes("not_english");
    countPiiMisses();
    if (first) first.focus();
  }
  let current = snapshot();
  const past = [], future = [];
  let burst = { el: null, at: 0 };
  function changed(el, typing) {
    const now = Date.now();
    if (!(typing && burst.el === el && now - burst.at < 1500)) {
      past.push(current);
      if (past.length > 500) past.shift();
    }
    burst = { el: typing ? el : null, at: now };
    future.length = 0;
    current = snapshot();
    task.dataset.undo = String(past.length);
    saveDraftSoon();
  }
  function undo(redo) {
    const from = redo ? future : past, to = redo ? past : future;
    if (withdrawn || !from.length) return;
    to.push(snapshot());
    current = from.pop();
    restore(current);
    burst = { el: null, at: 0 };
    task.dataset.undo = String(past.length);
    saveDraftSoon();
  }
  for (const box of tagBoxes()) box.addEventListener("change", () => changed(box, false));
  // Leaving (or reloading) with a save still waiting: send it now.
  window.addEventListener("pagehide", () => {
    if (task.dataset.draftSaved !== "0" || withdrawn || finishing) return;
    clearTimeout(draftTimer);
    post("draft", snapshot(), true);
  });

  // The draft is kept sealed on the server (review/drafts.py), never in the browser's storage.
  let draftTimer = null;
  function saveDraftSoon() {
    clearTimeout(draftTimer);
    task.dataset.draftSaved = "0";
    draftTimer = setTimeout(saveDraft, 600);
  }
  async function saveDraft() {
    if (withdrawn || finishing) return;
    const response = await post("draft", snapshot()).catch(() => null);
    if (response && response.ok) task.dataset.draftSaved = "1";
  }

  function collect() {
    const out = [], unintelligible = [];
    for (const input of words()) {
      for (const part of input.value.trim().split(/\s+/).filter(Boolean)) {
        if (input.classList.contains("unintelligible")) unintelligible.push(out.length);
        out.push(part);
      }
    }
    const tags = [];
    if (document.getElementById("tag-accidental").checked) tags.push("accidental_activation");
    if (document.getElementById("tag-not-english").checked) tags.push("not_english");
    return { text: out.join(" "), unintelligible, tags, pii_misses: piiMisses, time_spent_ms: Date.now() - started };
  }

  // --- actions ------------------------------------------------------------------------------
  let finishing = false;
  async function finish(path, body) {
    if (withdrawn || finishing) return;
    finishing = true;
    clearTimeout(draftTimer);
    audio.pause();
    message.textContent = "Saving…";
    const response = await post(path, body);
    if (response.status === 409) { showWithdrawn(); return; }
    if (!response.ok) {
      finishing = false;
      const error = await response.json().catch(() => ({ error: { message: "something went wrong" } }));
      message.textContent = error.error.message;
      return;
    }
    const { next, break: offerBreak } = await response.json();
    if (offerBreak) { window.location.assign(offerBreak); return; }
    // Leasing the next clip changes state: a real form POST (CSRF token included), not a GET.
    const form = document.createElement("form");
    form.method = "post";
    form.action = next;
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf";
    token.value = csrf;
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
  }
  const submit = () => finish("submit", collect());
  const skip = () => finish("skip");
  // Stop listening at once; then one reason from a closed list (keys 1-4), never free text.
  const reasons = document.getElementById("stop-reasons");
  const reasonButtons = () => Array.from(reasons.querySelectorAll("button.reason"));
  function stop() {
    if (withdrawn) return;
    audio.pause();
    reasons.hidden = false;
    task.dataset.stopping = "1";
    reasonButtons()[0].focus();
  }
  function cancelStop() {
    reasons.hidden = true;
    task.dataset.stopping = "0";
    document.getElementById("stop").focus();
  }
  function stopWith(reason) {
    audio.pause();
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.removeAttribute("src");
    finish("stop", { reason });
  }
  for (const button of reasonButtons()) button.addEventListener("click", () => stopWith(button.dataset.reason));

  function showWithdrawn() {
    withdrawn = true;
    audio.pause();
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.removeAttribute("src");
    document.getElementById("withdrawn").hidden = false;
    task.dataset.state = "withdrawn";
    for (const el of task.querySelectorAll("input, button")) el.disabled = true;
    const next = document.getElementById("next-after-withdrawn");  // the one way on: the next clip
    next.disabled = false;
    for (const el of next.form.querySelectorAll("input")) el.disabled = false;
    next.focus();
  }

  async function watch() {
    if (withdrawn) return;
    const response = await fetch(`/staff/review/tasks/${taskId}/status`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 409 || response.status === 404) { showWithdrawn(); return; }
    if (response.ok && (await response.json()).status === "withdrawn") { showWithdrawn(); return; }
    if (Date.now() - lastActivity < 30000) post("heartbeat");
  }

  // --- keys ---------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    lastActivity = Date.now();
    // Alt+letter by physical key (event.code): on macOS Option+U types a dead key, Option+P "π".
    const key = event.code.startsWith("Key") ? event.code.slice(3).toLowerCase() : "";
    let handled = true;
    if (!reasons.hidden) {
      const pick = reasonButtons()[Number(event.key) - 1];
      if (pick && !event.ctrlKey && !event.altKey) stopWith(pick.dataset.reason);
      else if (event.key === "Escape") cancelStop();
      else handled = false;
      if (handled) event.preventDefault();
      return;
    }
    if (event.ctrlKey && key === "z") undo(event.shiftKey);
    else if (event.ctrlKey && key === "y") undo(true);
    else if (event.ctrlKey && event.key === " ") togglePlay();
    else if (event.ctrlKey && event.key === "ArrowLeft") replayTwoSeconds();
    else if (event.ctrlKey && event.key === "ArrowUp") changeSpeed(+1);
    else if (event.ctrlKey && event.key === "ArrowDown") changeSpeed(-1);
    else if (event.ctrlKey && event.key === "Enter") submit();
    else if (event.altKey && key === "u") markUnintelligible();
    else if (event.altKey && key === "p") markPiiMiss();
    else if (event.altKey && key === "a") document.getElementById("tag-accidental").click();
    else if (event.altKey && key === "n") document.getElementById("tag-not-english").click();
    else if (event.altKey && key === "k") skip();
    else if (event.altKey && key === "x") stop();
    else if (event.key === "Tab" && !event.ctrlKey && !event.altKey) handled = jumpDoubtful(event.shiftKey);
    else handled = false;
    if (handled) event.preventDefault();
  });

  document.getElementById("play").addEventListener("click", togglePlay);
  // The button says what it will do: Play while paused, Pause while playing.
  const playLabel = document.getElementById("play-label");
  audio.addEventListener("play", () => { playLabel.textContent = "Pause"; });
  audio.addEventListener("pause", () => { playLabel.textContent = "Play"; });
  audio.addEventListener("ended", () => { playLabel.textContent = "Play"; });
  document.getElementById("replay").addEventListener("click", replayTwoSeconds);
  document.getElementById("submit").addEventListener("click", submit);
  document.getElementById("skip").addEventListener("click", skip);
  document.getElementById("stop").addEventListener("click", stop);

  countPiiMisses();  // a restored draft may carry marks
  loadAudio();
  setInterval(watch, 3000);
  const firstDoubtful = words().find((w) => w.dataset.low === "1") || words()[0];
  if (firstDoubtful) { firstDoubtful.focus(); firstDoubtful.select(); }
})();
