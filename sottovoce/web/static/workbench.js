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
  const post = (path, body) =>
    fetch(`/staff/review/tasks/${taskId}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
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
  audio.addEventListener("play", () => { task.dataset.playing = "1"; });
  audio.addEventListener("pause", () => { task.dataset.playing = "0"; });
  audio.addEventListener("timeupdate", () => {
    document.getElementById("clock").textContent = audio.currentTime.toFixed(1);
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
    if (input && input.classList.contains("word")) input.classList.toggle("unintelligible");
  }
  function markPiiMiss() {
    const input = document.activeElement;
    if (!input || !input.classList.contains("word")) return;
    input.classList.toggle("pii-miss");
    piiMisses = wordsBox.querySelectorAll("input.pii-miss").length;
    document.getElementById("pii-misses").textContent = piiMisses;
  }
  wordsBox.addEventListener("input", (event) => {
    const input = event.target;
    input.size = Math.max(3, input.value.length);
  });

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
  async function finish(path, body) {
    if (withdrawn) return;
    audio.pause();
    message.textContent = "Saving…";
    const response = await post(path, body);
    if (response.status === 409) { showWithdrawn(); return; }
    if (!response.ok) {
      const error = await response.json().catch(() => ({ error: { message: "something went wrong" } }));
      message.textContent = error.error.message;
      return;
    }
    const { next } = await response.json();
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
  const stop = () => {
    audio.pause();
    audio.removeAttribute("src");
    finish("stop");
  };

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
    if (event.ctrlKey && event.key === " ") togglePlay();
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

  loadAudio();
  setInterval(watch, 3000);
  const firstDoubtful = words().find((w) => w.dataset.low === "1") || words()[0];
  if (firstDoubtful) { firstDoubtful.focus(); firstDoubtful.select(); }
})();
