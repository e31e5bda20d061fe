// The live player of a lesson (see player.py): YouTube's IFrame Player API on the embed the build
// saves, reporting position and played stretches to the kernel, offering resume, taking notes.
const API = "https://www.youtube.com/iframe_api";
const API_TIMEOUT_MS = 15000; // a blocked script may neither load nor fail
const REPORT_EVERY_MS = 5000; // while playing; pause, end and close report at once
const SAMPLE_MS = 1000;
const PLAYING = 1, PAUSED = 2, ENDED = 0;
const CSS = `
.cc-player { font: 13px/1.5 var(--jp-ui-font-family, sans-serif); color: var(--jp-ui-font-color1, #222); }
.cc-player .cc-row { display: flex; gap: 10px; align-items: center; margin: 4px 0; flex-wrap: wrap; }
.cc-player button { font: inherit; cursor: pointer; padding: 2px 10px; border-radius: 3px;
  border: 1px solid var(--jp-border-color1, #bbb); background: var(--jp-layout-color2, #eee); color: inherit; }
.cc-player button.cc-primary { background: #1565c0; border-color: #1565c0; color: #fff; }
.cc-player button:disabled { opacity: .5; cursor: default; }
.cc-player .cc-resume { background: #e3f2fd; border-left: 4px solid #1565c0; padding: 4px 8px; width: fit-content; }
.cc-player .cc-status { color: var(--jp-ui-font-color2, #555); }
.cc-player input.cc-note-text { width: 420px; font: inherit; padding: 2px 6px; }
.cc-player input.cc-note-at { width: 5em; font: inherit; padding: 2px 6px; }
.cc-player ul.cc-notes { margin: 4px 0; padding-left: 20px; }
.cc-player .cc-offline { color: #b00020; }
.cc-player a { color: var(--jp-content-link-color, #1565c0); text-decoration: underline; }
.cc-player .cc-note-where { color: var(--jp-ui-font-color2, #555); }
.cc-player .cc-notes-head { margin: 6px 0 0; color: var(--jp-ui-font-color2, #555); }
.cc-player [hidden] { display: none !important; }
`;

let apiPromise = null;

/** YT once per page, chaining any earlier onYouTubeIframeAPIReady (other players on the page). */
function loadApi() {
  if (window.YT && window.YT.Player) return Promise.resolve(window.YT);
  if (apiPromise) return apiPromise;
  apiPromise = new Promise((resolve, reject) => {
    const previous = window.onYouTubeIframeAPIReady;
    window.onYouTubeIframeAPIReady = function () {
      if (typeof previous === "function") {
        try { previous(); } catch (e) { console.error(e); }
      }
      resolve(window.YT);
    };
    const script = document.createElement("script");
    script.src = API;
    script.async = true;
    script.onerror = () => { script.remove(); reject(new Error("the YouTube player API did not load")); };
    document.head.appendChild(script);
    setTimeout(() => reject(new Error("the YouTube player API did not answer")), API_TIMEOUT_MS);
  });
  apiPromise.catch(() => { apiPromise = null; }); // running the cell again tries again
  return apiPromise;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

function momentUrl(video, seconds) {
  return `https://www.youtube.com/watch?v=${encodeURIComponent(video)}&t=${Math.floor(seconds)}s`;
}

function make(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

function render({ model, el }) {
  const video = model.get("video");
  const root = make("div", { className: "cc-player" }, [make("style", { textContent: CSS })]);
  el.append(root);

  const watch = () => make("a", { href: model.get("watch_url"), target: "_blank", rel: "noopener",
                                  textContent: "Watch on YouTube ↗" });
  const resumeAt = model.get("resume");
  const resumeBtn = make("button", { className: "cc-primary", disabled: true,
                                     textContent: `▶ Resume at ${clock(resumeAt)}` });
  const overBtn = make("button", { disabled: true, textContent: "Start over" });
  const resumeRow = make("div", { className: "cc-row cc-resume" },
                         [make("span", { textContent: "You stopped here last time:" }), resumeBtn,
                          make("span", { textContent: "·" }), overBtn]);
  if (video && resumeAt > 0) root.append(resumeRow);

  const src = new URL(model.get("src"));
  src.searchParams.set("enablejsapi", "1");
  src.searchParams.set("origin", window.location.origin);
  const iframe = make("iframe", { src: src.toString(), width: model.get("width"), height: model.get("height"),
                                  title: model.get("title"), allowFullscreen: true });
  iframe.setAttribute("frameborder", "0");
  iframe.setAttribute("allow", "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; "
                               + "picture-in-picture; web-share");
  // YouTube refuses an embed whose request carries no referrer (error 153)
  iframe.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
  root.append(iframe);

  // A note takes the player's moment, or one typed: the player may be offline, or the video
  // watched elsewhere. The kernel reads the typed time (and says when it can't).
  const noteBtn = make("button", { textContent: "✎ Note at a moment" });
  const status = make("span", { className: "cc-status" });
  const bar = make("div", { className: "cc-row" }, video ? [noteBtn, status] : [status]);
  const noteText = make("input", { className: "cc-note-text", type: "text" });
  const saveBtn = make("button", { className: "cc-primary", textContent: "Keep note" });
  const cancelBtn = make("button", { textContent: "Cancel" });
  const noteAt = make("input", { className: "cc-note-at", type: "text", placeholder: "12:30",
                                  title: "minutes:seconds into the video" });
  const form = make("div", { className: "cc-row" },
                    [make("span", { textContent: "Note at" }), noteAt, noteText, saveBtn, cancelBtn]);
  form.hidden = true;
  const list = make("ul", { className: "cc-notes" });
  const notesHead = make("div", { className: "cc-notes-head",
                                  textContent: "Your notes on this video (a time plays it from there):" });
  root.append(bar, form, notesHead, list);

  let player = null;
  const showStatus = () => { status.textContent = model.get("status"); };

  function drawNotes() {
    notesHead.hidden = model.get("notes").length === 0;
    list.replaceChildren(...model.get("notes").map((n) => {
      const a = make("a", { href: momentUrl(video, n.at), target: "_blank", rel: "noopener",
                            textContent: clock(n.at), title: "Play from here (opens YouTube if the player is not live)" });
      a.addEventListener("click", (ev) => {
        if (!player) return; // no live player: the link opens YouTube at that moment
        ev.preventDefault();
        player.seekTo(n.at, true);
        player.playVideo();
      });
      const where = n.where ? [make("span", { className: "cc-note-where", textContent: ` (in ${n.where})` })] : [];
      return make("li", {}, [a, " ", n.text, ...where]);
    }));
  }

  // What was played: stretches of [from, to], grown while samples follow one another at the
  // playback rate; a jump (a seek) starts a new stretch, so skipping ahead never counts as watching.
  let stretches = [], open = null, last = null, lastReport = 0, timer = null, closed = false;

  function sample() {
    if (!player || typeof player.getCurrentTime !== "function") return;
    const now = performance.now(), t = player.getCurrentTime();
    const rate = (player.getPlaybackRate && player.getPlaybackRate()) || 1;
    if (last && open && t >= last.t && t - last.t <= ((now - last.wall) / 1000) * rate + 1.5) {
      open[1] = t;
    } else {
      if (open && open[1] > open[0]) stretches.push(open);
      open = [t, t];
    }
    last = { t, wall: now };
    noteBtn.textContent = `✎ Note at ${clock(t)}`;
  }

  function closeStretch() {
    if (open && open[1] > open[0]) stretches.push(open);
    open = null;
    last = null;
  }

  function report(event) {
    if (!player || !video || typeof player.getCurrentTime !== "function") return;
    const data = player.getVideoData ? player.getVideoData() : null;
    if (data && data.video_id && data.video_id !== video) return; // a playlist moved on to another video
    const played = stretches.concat(open && open[1] > open[0] ? [[open[0], open[1]]] : []);
    if (open) open = [open[1], open[1]];
    stretches = [];
    lastReport = performance.now();
    model.send({ kind: "progress", event, position: player.getCurrentTime(),
                 duration: player.getDuration(), played });
  }

  function onState(ev) {
    if (ev.data === PLAYING) {
      resumeRow.remove(); // playing from anywhere answers the offer
      sample();
      if (!timer) timer = setInterval(() => {
        sample();
        if (performance.now() - lastReport >= REPORT_EVERY_MS) report("playing");
      }, SAMPLE_MS);
      return;
    }
    if (timer) { clearInterval(timer); timer = null; }
    if (ev.data === ENDED) {
      sample();
      closeStretch();
      report("ended");
    } else if (ev.data === PAUSED) {
      sample();
      closeStretch();
      report("pause");
    } else {
      closeStretch(); // buffering after a seek: the next sample starts a new stretch
    }
  }

  // In the player's place: why it is missing and what helps; notes can still be written and read.
  let gone = false; // YouTube can't be reached: the player's place says so, for good on this page
  function offline(why) {
    if (gone || closed) return;
    console.warn("course companion player:", why);
    gone = true;
    player = null;
    noteBtn.textContent = "✎ Note at a moment"; // no player's moment to take: the learner types one
    resumeRow.remove();
    iframe.replaceWith(make("div", { className: "cc-offline" },
      [`${model.get("offline")} Back online? Run this cell again. `, watch()]));
  }

  // The API may have loaded earlier on this page and the network gone since: the embed's own
  // address is asked too (headers only), as the saved player does.
  const stop = new AbortController();
  const probeTimer = setTimeout(() => stop.abort(), API_TIMEOUT_MS);
  fetch(model.get("src"), { method: "HEAD", mode: "no-cors", cache: "no-store", credentials: "omit", signal: stop.signal })
    .then(() => clearTimeout(probeTimer), () => { clearTimeout(probeTimer); offline("the embed did not answer"); });

  loadApi().then((YT) => {
    if (closed || gone) return;
    player = new YT.Player(iframe, {
      events: {
        onReady: () => {
          if (gone) return;
          resumeBtn.disabled = overBtn.disabled = false;
          if (video) noteBtn.textContent = `✎ Note at ${clock(player.getCurrentTime ? player.getCurrentTime() : 0)}`;
        },
        onStateChange: onState,
        onError: (ev) => {
          status.replaceChildren(`YouTube cannot play this here (error ${ev.data}). `, watch());
        },
      },
    });
  }, (err) => offline(err.message));

  resumeBtn.addEventListener("click", () => {
    resumeRow.remove();
    player.seekTo(resumeAt, true);
    player.playVideo();
  });
  overBtn.addEventListener("click", () => {
    resumeRow.remove();
    player.seekTo(model.get("start"), true);
    player.playVideo();
  });

  const live = () => !!(player && typeof player.getCurrentTime === "function");
  noteBtn.addEventListener("click", () => {
    noteAt.value = live() ? clock(player.getCurrentTime()) : "";
    noteText.placeholder = "one line, kept with this moment of the video";
    form.hidden = false;
    (live() ? noteText : noteAt).focus();
  });
  // The form stays, text and all, until the kernel keeps the note (a time it can't read is said
  // in the status line, and the learner corrects it).
  const keep = () => {
    const text = noteText.value.trim();
    if (!text) { noteText.focus(); return; }
    model.send({ kind: "note", at: noteAt.value.trim(), text });
  };
  const closeForm = () => { noteText.value = noteAt.value = ""; form.hidden = true; };
  saveBtn.addEventListener("click", keep);
  cancelBtn.addEventListener("click", closeForm);
  for (const input of [noteAt, noteText]) {
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") keep();
      if (ev.key === "Escape") closeForm();
    });
  }

  const leaving = () => { if (timer) { sample(); report("close"); } };
  window.addEventListener("pagehide", leaving);
  const noteKept = () => { closeForm(); drawNotes(); };
  model.on("change:notes", noteKept);
  model.on("change:status", showStatus);
  drawNotes();
  showStatus();

  return () => { // the output is cleared or the cell runs again
    leaving();
    closed = true;
    clearTimeout(probeTimer);
    if (timer) clearInterval(timer);
    window.removeEventListener("pagehide", leaving);
    model.off("change:notes", noteKept);
    model.off("change:status", showStatus);
  };
}

export default { render };
