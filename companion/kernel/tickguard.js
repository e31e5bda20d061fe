// The checklist's guard (tickguard.py): a learner's click on a box goes to the kernel, which saves
// the tick and only then shows it, so a ☑ on the page is always a saved one. A checklist whose
// kernel is gone (restarted or stopped: it never answers its clicks) says so and its boxes stop taking clicks.
const ANSWER_MS = 10000; // no word from the kernel by then: say so (it may be busy: an answer still counts)

export default {
  render({ model, el }) {
    const line = document.createElement("div");
    line.className = "cc-refused";
    line.style.cssText = "color:#b00020;font-weight:bold;margin:4px 0";
    line.hidden = true;
    el.appendChild(line);
    const checklist = () => el.parentElement; // the box holding the checkboxes, this guard among them
    const boxes = () => Array.from(checklist()?.querySelectorAll('input[type="checkbox"]') ?? []);
    let gone = false;
    const say = () => {
      line.textContent = model.get("refused");
      line.hidden = false;
    };
    const refuse = () => { // for good: this kernel does not know the checklist, or is gone
      gone = true;
      say();
      for (const box of boxes()) box.disabled = true;
    };
    const waiting = new Set(); // clicks the kernel has not answered yet
    const onMessage = (msg) => {
      if (msg && msg.kind === "answered") {
        waiting.delete(msg.click);
        if (!gone && waiting.size === 0) line.hidden = true; // a late answer from a busy kernel
      }
    };
    model.on("msg:custom", onMessage);
    let clicks = 0;
    const onClick = (event) => {
      const box = event.target;
      const root = checklist();
      if (!root || !(box instanceof HTMLInputElement) || box.type !== "checkbox" || !root.contains(box)) return;
      // the click is the kernel's to carry out: the box changes when the tick is saved, never before
      event.preventDefault();
      event.stopPropagation();
      if (gone) return refuse();
      const click = ++clicks;
      waiting.add(click);
      // during a click the browser already shows the new state: that is the tick asked for
      model.send({ kind: "click", click, index: boxes().indexOf(box), value: box.checked }, {
        // the kernel took the message and went idle without answering: it never had this checklist
        iopub: { status: (msg) => { if (msg.content.execution_state === "idle" && waiting.delete(click)) refuse(); } },
      });
      setTimeout(() => { if (waiting.has(click)) say(); }, ANSWER_MS);
    };
    document.addEventListener("click", onClick, true);
    const kernel = model.widget_manager && model.widget_manager.kernel;
    const onStatus = (_kernel, status) => {
      if (status === "restarting" || status === "autorestarting" || status === "dead") refuse();
    };
    kernel?.statusChanged?.connect(onStatus);
    return () => {
      document.removeEventListener("click", onClick, true);
      model.off("msg:custom", onMessage);
      kernel?.statusChanged?.disconnect(onStatus);
    };
  },
};
