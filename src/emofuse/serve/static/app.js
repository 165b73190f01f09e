// emofuse live page: camera frames (JPEG, 320 px wide) and microphone audio (PCM16 mono 16 kHz)
// go to WebSocket /v1/stream as binary messages: 1 byte kind ("F" frame | "A" audio),
// float64 little-endian media time (s), payload. Updates come back as JSON (see stream.py).
"use strict";

const FPS = 8;
const FRAME_WIDTH = 320;
const RATE = 16000;
const COLORS = {
  neutral: "#9e9e9e", happiness: "#ffd54f", sadness: "#64b5f6", anger: "#e57373",
  fear: "#ba68c8", disgust: "#81c784", surprise: "#ffb74d",
};
const $ = (id) => document.getElementById(id);
const state = { labelsSeen: [], faceBoxes: 0, updates: 0, lastT: 0, errors: [], running: false };
window.emofuseState = state; // read by the browser test

let ws = null, stream = null, audioCtx = null, timer = null, t0 = 0;
let labels = Object.keys(COLORS), timeline = [], lastLabel = null, sending = false;
const grab = document.createElement("canvas");

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, id] of [["videoinput", "camera"], ["audioinput", "microphone"]]) {
    const select = $(id), chosen = select.value;
    select.innerHTML = '<option value="">default</option>';
    devices.filter((d) => d.kind === kind).forEach((d, i) => {
      const opt = new Option(d.label || `${id} ${i + 1}`, d.deviceId);
      select.add(opt);
    });
    select.value = chosen;
  }
}

function explain(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError")
    return "Permission to use the camera or microphone was refused. Allow it in the browser's site settings and press Start again.";
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return "No camera or microphone was found. Plug one in (or pick another) and press Start again.";
  if (name === "NotReadableError")
    return "The camera or microphone is busy in another application.";
  if (!navigator.mediaDevices) return "This page needs https or localhost to use the camera.";
  return `Cannot start: ${err?.message || err}`;
}

async function openMedia() {
  const cam = $("camera").value, mic = $("microphone").value;
  const video = cam ? { deviceId: { exact: cam } } : { width: 640, height: 480 };
  const audio = mic ? { deviceId: { exact: mic } } : true;
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio });
  } catch (err) {
    if (err.name !== "NotFoundError") throw err;
    // one of the two is missing: carry on with what exists
    for (const c of [{ video }, { audio }]) {
      try {
        const s = await navigator.mediaDevices.getUserMedia(c);
        say(c.video ? "No microphone found: face only." : "No camera found: voice only.", true);
        return s;
      } catch (e) { if (e.name !== "NotFoundError") throw e; }
    }
    throw err;
  }
}

function header(kind, t, size) {
  const buf = new ArrayBuffer(9 + size), view = new DataView(buf);
  view.setUint8(0, kind.charCodeAt(0));
  view.setFloat64(1, t, true);
  return buf;
}

function now() { return (performance.now() - t0) / 1000; }

function sendFrame() {
  const video = $("video");
  if (sending || !ws || ws.readyState !== 1 || !video.videoWidth) return;
  if (ws.bufferedAmount > 512 * 1024) return; // the network is behind: skip this frame
  grab.width = FRAME_WIDTH;
  grab.height = Math.round(video.videoHeight * FRAME_WIDTH / video.videoWidth);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  const t = now();
  sending = true;
  grab.toBlob(async (blob) => {
    sending = false;
    if (!blob || !ws || ws.readyState !== 1) return;
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    const buf = header("F", t, jpeg.length);
    new Uint8Array(buf, 9).set(jpeg);
    ws.send(buf);
  }, "image/jpeg", 0.75);
}

function startAudio(media) {
  if (!media.getAudioTracks().length) return;
  const Ctx = window.AudioContext || window.webkitAudioContext;
  try { audioCtx = new Ctx({ sampleRate: RATE }); } catch { audioCtx = new Ctx(); }
  const source = audioCtx.createMediaStreamSource(media);
  const proc = audioCtx.createScriptProcessor(4096, 1, 1);
  const mute = audioCtx.createGain();
  mute.gain.value = 0;
  let start = null, sent = 0;
  proc.onaudioprocess = (e) => {
    if (!ws || ws.readyState !== 1) return;
    const pcm = toPcm16(resample(e.inputBuffer.getChannelData(0), audioCtx.sampleRate));
    if (start === null) start = now();
    const buf = header("A", start + sent / RATE, pcm.byteLength);
    new Uint8Array(buf, 9).set(new Uint8Array(pcm.buffer));
    sent += pcm.length;
    ws.send(buf);
  };
  source.connect(proc); proc.connect(mute); mute.connect(audioCtx.destination);
}

function resample(x, rate) {
  if (rate === RATE) return x;
  const n = Math.floor(x.length * RATE / rate), out = new Float32Array(n), step = rate / RATE;
  for (let i = 0; i < n; i++) {
    const p = i * step, j = Math.floor(p), f = p - j;
    out[i] = x[j] * (1 - f) + (x[Math.min(j + 1, x.length - 1)] || 0) * f;
  }
  return out;
}

function toPcm16(x) {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-1, Math.min(1, x[i])) * 0x7fff;
  return out;
}

function buildBars() {
  $("bars").innerHTML = labels.map((l) => `<div class="bar" data-label="${l}"><span>${l}</span>
    <div class="track"><div class="fill" style="background:${COLORS[l] || "#4fc3f7"}"></div></div>
    <span class="pct">-</span></div>`).join("");
}

function showUpdate(u) {
  state.updates++;
  state.lastT = u.t;
  const overlay = $("overlay"), ctx = overlay.getContext("2d");
  if (u.face) {
    overlay.width = overlay.clientWidth; overlay.height = overlay.clientHeight;
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (u.face.box && u.face.frame) {
      state.faceBoxes++;
      const sx = overlay.width / u.face.frame.w, sy = overlay.height / u.face.frame.h;
      const b = u.face.box, label = u.fused ? u.fused.label : "";
      ctx.strokeStyle = COLORS[label] || "#4fc3f7"; ctx.lineWidth = 3;
      ctx.strokeRect(b.x * sx, b.y * sy, b.w * sx, b.h * sy);
      ctx.font = "bold 18px system-ui"; ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(label, b.x * sx, Math.max(18, b.y * sy - 6));
    }
  }
  $("sources").textContent = [u.face?.probs ? "face" : null, u.voice ? "voice" : null]
    .filter(Boolean).join(" + ") || `no face, voice ${u.voice_status}`;
  if (!u.fused) return;
  for (const el of $("bars").children) {
    const p = u.fused.probs[el.dataset.label] || 0;
    el.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    el.querySelector(".pct").textContent = `${Math.round(p * 100)}%`;
  }
  const label = u.fused.label;
  $("current").textContent = `${label} ${Math.round(u.fused.confidence * 100)}%`;
  if (!state.labelsSeen.includes(label)) state.labelsSeen.push(label);
  if (label !== lastLabel) {
    const li = document.createElement("li");
    li.innerHTML = `${u.t.toFixed(1)} s <b>${label}</b>`;
    $("changes").prepend(li);
    lastLabel = label;
  }
  timeline.push({ t: u.t, label });
  drawTimeline();
  $("stats").textContent = `latency ${u.latency_ms} ms, ${state.updates} updates, ` +
    `${u.dropped_frames} frames dropped`;
}

function drawTimeline() {
  const c = $("timeline"), ctx = c.getContext("2d"), span = 30; // seconds shown
  c.width = c.clientWidth || 480;
  const end = Math.max(span, timeline[timeline.length - 1].t);
  timeline = timeline.filter((p) => p.t >= end - span - 1);
  ctx.clearRect(0, 0, c.width, c.height);
  timeline.forEach((p, i) => {
    const next = timeline[i + 1] ? timeline[i + 1].t : p.t + 0.2;
    const x = (p.t - (end - span)) / span * c.width, w = (next - p.t) / span * c.width;
    ctx.fillStyle = COLORS[p.label] || "#4fc3f7";
    ctx.fillRect(x, 0, Math.max(1, w), c.height);
  });
}

async function start() {
  $("start").disabled = true;
  say("Asking for the camera and microphone...");
  try {
    stream = await openMedia();
  } catch (err) {
    say(explain(err), true);
    $("start").disabled = false;
    return;
  }
  await listDevices();
  $("video").srcObject = stream;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const key = new URLSearchParams(location.search).get("key");  // a server with --api-key
  const query = key ? `?key=${encodeURIComponent(key)}` : "";
  ws = new WebSocket(`${proto}://${location.host}/v1/stream${query}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    t0 = performance.now();
    state.running = true;
    timer = setInterval(sendFrame, 1000 / FPS);
    startAudio(stream);
    if (!$("message").classList.contains("error")) say("Live.");
    $("stop").disabled = false;
  };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "hello") { labels = msg.labels; buildBars(); }
    else if (msg.type === "update") showUpdate(msg);
    else if (msg.type === "error") { state.errors.push(msg.message); console.warn(msg.message); }
  };
  ws.onerror = () => say("Lost the connection to the server.", true);
  ws.onclose = () => { if (state.running) stop("The server closed the connection."); };
}

function stop(why) {
  state.running = false;
  clearInterval(timer);
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  if (audioCtx) { audioCtx.close(); audioCtx = null; }
  if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  $("video").srcObject = null;
  $("start").disabled = false;
  $("stop").disabled = true;
  say(typeof why === "string" ? why : "Stopped.", typeof why === "string");
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", () => stop());
navigator.mediaDevices?.addEventListener?.("devicechange", listDevices);
buildBars();
listDevices().catch(() => {});
