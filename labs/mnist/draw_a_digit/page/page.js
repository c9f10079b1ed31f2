// The page of `python labs/mnist/_04_draw_a_digit.py --web`: a canvas to draw on. The drawing goes to
// the lab as a PNG (POST /api/recognize), which prepares it with the MNIST recipe and asks the network;
// this page only draws and shows the answer.
"use strict";

const WORDS = {
  en: {
    title: "Draw a digit", clear: "Clear", recognize: "Recognize", reads: "It reads:",
    seen: "What the network saw (28×28)",
    hint: "Draw one digit, 0 to 9, with the mouse, a finger or a pen. It is read when you lift the pen.",
    empty: "Draw a digit first.", failed: "The server did not answer: is the lab still running?",
  },
  zh: {
    title: "写一个数字", clear: "清除", recognize: "识别", reads: "网络认为是：",
    seen: "网络看到的图像（28×28）",
    hint: "用鼠标、手指或笔写一个数字（0 到 9）。抬起笔时就会识别。",
    empty: "请先写一个数字。", failed: "服务器没有应答：实验还在运行吗？",
  },
};
const language = (navigator.languages || [navigator.language || "en"])
  .some((tag) => String(tag).toLowerCase().startsWith("zh")) ? "zh" : "en";
const words = WORDS[language];
const PEN_WIDTH = 0.06;   // Of the canvas side, as in the drawing window (draw_a_digit/pad.py).

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const digit = document.getElementById("digit");
const message = document.getElementById("message");
const bars = document.getElementById("bars");
let drawing = false;
let strokes = 0;
let last = null;
let request = 0;

function translate() {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  document.title = words.title;
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = words[element.dataset.text];
  }
}

function makeBars() {
  for (let d = 0; d <= 9; d++) {
    const row = document.createElement("li");
    row.innerHTML = `<span class="label">${d}</span><span class="bar"><span class="fill"></span></span>` +
                    `<span class="value">–</span>`;
    bars.appendChild(row);
  }
}

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  strokes = 0;
  request += 1;   // An answer still on its way is for a drawing that is gone.
  digit.textContent = "–";
  message.textContent = "";
  delete document.body.dataset.answer;
  setState("empty");
  seen.clearRect(0, 0, 28, 28);
  for (const row of bars.children) {
    row.classList.remove("best");
    row.querySelector(".fill").style.width = "0";
    row.querySelector(".value").textContent = "–";
  }
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function line(from, to) {
  ink.strokeStyle = "#000";
  ink.lineWidth = PEN_WIDTH * pad.width;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(from[0], from[1]);
  ink.lineTo(to[0], to[1]);
  ink.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  line(last, last);
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  event.preventDefault();
  // A pen or a finger may deliver several points per frame; draw through all of them.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length ? events : [event]) {
    const next = point(each);
    line(last, next);
    last = next;
  }
});
function endStroke(event) {
  if (!drawing) return;
  drawing = false;
  strokes += 1;
  if (pad.hasPointerCapture(event.pointerId)) pad.releasePointerCapture(event.pointerId);
  recognize();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function show(answer) {
  digit.textContent = String(answer.digit);
  message.textContent = "";
  const picture = seen.createImageData(28, 28);
  answer.image28.forEach((row, y) => row.forEach((value, x) => {
    const level = Math.round(255 * Math.min(1, Math.max(0, value)));
    const at = 4 * (28 * y + x);
    picture.data.set([level, level, level, 255], at);
  }));
  seen.putImageData(picture, 0, 0);
  answer.probabilities.forEach((p, d) => {
    const row = bars.children[d];
    row.classList.toggle("best", d === answer.digit);
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
  });
  document.body.dataset.answer = String(answer.digit);   // For tests and scripts: the latest answer.
}

// For tests and scripts: "waiting" while the latest drawing is with the server, then "answered"
// (or "failed"); an answer to an earlier drawing never counts.
function setState(state) {
  document.body.dataset.state = state;
}

function recognize() {
  if (strokes === 0) {
    message.textContent = words.empty;
    setState("empty");
    return;
  }
  const mine = ++request;
  setState("waiting");
  pad.toBlob(async (png) => {
    try {
      const response = await fetch("api/recognize", { method: "POST", body: png,
                                                     headers: { "Content-Type": "image/png" } });
      const answer = await response.json();
      if (mine !== request) return;
      if (response.ok) show(answer); else message.textContent = answer.error;
      setState(response.ok ? "answered" : "failed");
    } catch (error) {
      if (mine !== request) return;
      message.textContent = words.failed;
      setState("failed");
    }
  }, "image/png");
}

document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("recognize").addEventListener("click", recognize);
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter") recognize();
  if (event.key === "Backspace" || event.key === "Escape") clearPad();
});
translate();
makeBars();
clearPad();
