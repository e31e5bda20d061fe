"""How catalog.json was first made from sources/ (kept for provenance; the catalog is
edited by hand from then on). The two "Video Series Index" seeds go through the importer; the
three ordered lists are transcribed here, with every link, note and date, and 004's link-less
titles resolved against videos the other seeds link. `tools/migrate_series_notes.py` then moved
series blurbs to the course whose source wrote them (the shape the importer writes now)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from companion.importer import _Catalog, import_index

SEEDS = Path(sys.argv[1] if len(sys.argv) > 1 else "sources")
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "catalog.json")
DL = "3blue1brown-neural-networks-deep-learning"
DL_PLAYLIST = "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi"

data: dict = {"$schema": "companion/catalog.schema.json", "series": [], "videos": [], "resources": [], "courses": []}
import_index(data, (SEEDS / "000_68aef646c0788ccf.txt").read_text(), course_id="math-for-ml",
             name="000_68aef646c0788ccf.txt", title="Mathematics for Machine Learning: Video Series Index")
course = data["courses"][-1]
course["note"] = ("Curated video series for intuitive, visual learning. Organized by subject area with direct links. "
                  "All series prioritize geometric intuition and deep understanding over mechanical procedure.")
course["phases"] = [
    {"id": "phase-1", "title": "Phase 1 — Linear algebra", "first": 1, "last": 12},
    {"id": "phase-2", "title": "Phase 2 — Calculus and differential equations", "first": 13, "last": 27,
     "note": "The index: watch the full Essence of Calculus playlist before Phase 2; Differential Equations is essential for Lessons 22–27."},
    {"id": "phase-3", "title": "Phase 3 — Probability and statistics", "first": 28, "last": 39,
     "note": "The index: 3Blue1Brown's probability videos are relevant to Phase 3."},
    {"id": "phase-4", "title": "Phase 4 — Machine learning", "first": 40, "last": 50,
     "note": "The index: Welch Labs' book is the primary reference for Phase 4 (Machine Learning)."},
    {"id": "phase-5", "title": "Phase 5 — Pure mathematics (enrichment)", "first": 51, "last": 62,
     "note": "The index: Aleph 0 is perfect for the Phase 5 enrichment lessons; Socratica is a good on-ramp for Phase 5."},
    {"id": "phase-6", "title": "Phase 6 — AI safety", "first": 63, "last": 67,
     "note": "The index: Robert Miles is essential for Phase 6."},
]
cat = _Catalog(data)


def series(sid: str, title: str, channel: str, note: str = "") -> str:
    if not any(s["id"] == sid for s in data["series"]):
        data["series"].append({"id": sid, "title": title, "channel": channel, **({"note": note} if note else {})})
    return sid


def video(yt: str, title: str, sid: str, **extra) -> str:
    existing = cat.video_by_youtube(yt)
    if existing is None:
        existing = {"id": cat.fresh_id(yt), "title": title, "series": sid, "youtube": yt}
        data["videos"].append(existing)
    elif title != existing["title"] and title not in existing.get("aliases", []):
        existing.setdefault("aliases", []).append(title)
    existing.update(extra)
    return existing["id"]


def resource(rid: str, title: str, kind: str, url: str) -> str:
    if not any(r["id"] == rid for r in data["resources"]):
        data["resources"].append({"id": rid, "title": title, "kind": kind, "url": url})
        cat.ids.add(rid)
    return rid


def lesson(n: int, lid: str, title: str, videos: list, resources: list | None = None, note: str = "") -> dict:
    out = {"id": lid, "number": n, "title": title}
    if note:
        out["note"] = note
    out["videos"] = videos
    if resources:
        out["resources"] = resources
    return out


# 002 — Build Intuition with 3Blue1Brown
s002 = [
    ("aircAruvnKk", "Chapter 1: what is a Neural Network?", "neural-network",
     "This video tackles the fundamental question: what is a neural network, really? It walks through the building blocks—neurons, layers, weights, biases, and activation functions—and shows how they interact.\n\nWhat makes it especially effective is the visual explanation. The animations turn ideas that are usually abstract into something you can actually see and reason about."),
    ("IHZwWFHWa-w", "Chapter 2: Gradient descent, how neural networks learn", "gradient-descent",
     "How does a network actually learn? This video breaks down gradient descent, the fundamental optimization method behind modern deep learning. It shows, step by step, how a model updates its weights to improve performance over time.\n\nOne of the most useful parts is the visualization of the loss (cost) function. Once you truly grasp why the objective is to minimize this function—and how gradient descent moves the model in that direction—the rest of machine learning concepts start to click much more naturally."),
    ("Ilg3gGewQ5U", "Chapter 3: What is backpropagation really doing?", "backpropagation",
     "This video explains the intuition—what's actually happening when a network learns."),
    ("tIeHLnjs5U8", "Chapter 4: Backpropagation calculus", "backpropagation-calculus",
     "This video walks through the calculus behind backpropagation—the chain rule in action."),
    ("LPZh9BOjkQs", "Chapter 5: Large Language Models explained briefly", "llms-briefly",
     "A bridge to modern AI. This video provides a lightweight intro to LLMs—what they are, how they relate to the neural networks you just learned about. Think of this as a preview. You'll go much deeper with Karpathy later. For now, you're just connecting your foundational knowledge to the systems that power ChatGPT and Claude."),
    ("wjZofJX0v4M", "Chapter 6: Transformers, the tech behind LLMs", "transformers",
     "The transformer architecture is the breakthrough that made modern AI. This video gives you a visual introduction to how transformers work."),
    ("eMlx5fFNoYc", "Chapter 7: Attention in transformers, step-by-step", "attention",
     "Attention is the key mechanism inside transformers. This video breaks it down step by step."),
    ("9-Jl0dxWQs8", "Chapter 8: How might LLMs store facts", "llms-store-facts",
     "This video unpacks the multilayer perceptrons in a transformer—the parts of the network that seem to store factual knowledge."),
    ("iv-5mZ_9CPY", "How do AI images and videos actually work?", "ai-images-and-videos",
     "This video covering diffusion models—the tech behind image generators like DALL-E, Midjourney, and Stable Diffusion."),
]
lessons = []
for n, (yt, title, lid, note) in enumerate(s002, 1):
    bare = title.split(": ", 1)[1] if title.startswith("Chapter") else title
    vid = video(yt, bare[0].upper() + bare[1:], DL)
    lessons.append(lesson(n, lid, title, [{"id": vid, "title": bare, "note": note}]))
data["courses"].append({
    "id": "intuition-3blue1brown", "title": "Build Intuition with 3Blue1Brown", "source": "002_0598ed8ac41e3d14.txt",
    "note": ("Grant Sanderson is the best math educator on the internet. His neural networks series takes complex concepts "
             "and makes them visually intuitive.\n\nStart here. Even if you have some ML background, start here. "
             "The visual intuition you'll build is invaluable."),
    "lessons": lessons})

# 003 — Bootstrap knowledge of LLMs ASAP
karpathy = "andrej-karpathy-neural-networks-zero-to-hero"
hedu = series("hedu-ai-visual-guide-to-transformers", "Hedu AI — Visual Guide to Transformer Neural Networks", "Hedu AI")
olah = series("stanford-cs25", "Stanford CS25 seminar", "Stanford Online")
alammar = series("jay-alammar", "Jay Alammar", "Jay Alammar")
s003 = [
    ("PaCmpygFfXo", karpathy, "Andrej Karpathy", "The spelled-out intro to language modeling: building makemore", "makemore-bigrams",
     "basic. bi-gram name generator model by counting, then by NN. using pytorch.", None),
    ("TCH_1BHY58I", karpathy, "Andrej Karpathy", "Building makemore Part 2: MLP", "makemore-mlp", "", None),
    ("P6sfmUTpUmc", karpathy, "Andrej Karpathy", "Building makemore Part 3: Activations & Gradients, BatchNorm", "makemore-batchnorm", "", None),
    ("q8SA3rM6ckI", karpathy, "Andrej Karpathy", "Building makemore Part 4: Becoming a Backprop Ninja", "backprop-ninja", "", None),
    ("dichIcUZfOw", hedu, "Hedu AI", "Visual Guide to Transformer Neural Networks - (Episode 1) Position Embeddings", "position-embeddings",
     "Tokens are embedded into a semantic space. sine/cosine position encoding explained very well.", None),
    ("mMa2PmYJlCo", hedu, "Hedu AI", "Visual Guide to Transformer Neural Networks - (Episode 2) Multi-Head & Self-Attention", "multi-head-attention",
     "Clear overview of multi-head attention.", None),
    ("gJ9kaJsE78k", hedu, "Hedu AI", "Visual Guide to Transformer Neural Networks - (Episode 3) Decoder’s Masked Attention", "masked-attention",
     "Further details on the transformer architecture.", None),
    ("kCc8FmEb1nY", karpathy, "Andrej Karpathy", "Andrej Karpathy - Let's build GPT: from scratch, in code, spelled out.", "build-gpt",
     "build up a Shakespeare gpt-2-like from scratch. starts with bi-gram and adds features one by one. pytorch.", None),
    ("pC4zRb_5noQ", olah, "Chris Olah", "CS25 I Stanford Seminar - Transformer Circuits, Induction Heads, In-Context Learning", "induction-heads",
     "Interpretation. Deep look into the mechanics of induction heads.",
     ("in-context-learning-and-induction-heads", "In-context Learning and Induction Heads (companion article)",
      "https://transformer-circuits.pub/2022/in-context-learning-and-induction-heads/index.html")),
    ("ISPId9Lhc1g", alammar, "Jay Alammar", "The Illustrated Word2vec - A Gentle Intro to Word Embeddings in Machine Learning", "word2vec", "", None),
    ("MQnJZuBGmSQ", alammar, "Jay Alammar", "How GPT3 Works - Easily Explained with Animations", "how-gpt3-works",
     "extremely high level basic overview.", None),
    ("-QH8fRhqFHM", alammar, "Jay Alammar", "The Narrated Transformer Language Model", "narrated-transformer",
     "much deeper look at the architecture. goes into detail.",
     ("illustrated-transformer", "The Illustrated Transformer (companion article)", "https://jalammar.github.io/illustrated-transformer/")),
]
lessons = [lesson(1, "prelude", "Prelude: neural networks before transformers",
                  [{"id": video("aircAruvnKk", "But what is a neural network?", DL), "playlist": DL_PLAYLIST}],
                  [resource("3blue1brown-neural-networks-topic", "3blue1brown.com: Neural networks", "website",
                            "https://www.3blue1brown.com/topics/neural-networks"),
                   resource("neuralnetworksanddeeplearning", "neuralnetworksanddeeplearning.com", "book",
                            "http://neuralnetworksanddeeplearning.com/"),
                   resource("distill-pub", "distill.pub", "website", "https://distill.pub/")],
                  note="Neural network links before starting with transformers.")]
for n, (yt, sid, who, title, lid, note, article) in enumerate(s003, 2):
    item = {"id": video(yt, title, sid), "title": title}
    if note:
        item["note"] = f"{who}: {note}"
    else:
        item["note"] = who
    res = [resource(*article[:2], "article", article[2])] if article else None
    lessons.append(lesson(n, lid, title, [item], res))
data["courses"].append({
    "id": "llms-asap", "title": "Bootstrap knowledge of LLMs ASAP", "source": "003_8aa86ed609bd4dca.txt",
    "note": "Purpose: Bootstrap knowledge of LLMs ASAP. A prelude of neural network links, then YouTube lessons in order.",
    "lessons": lessons})

# 004 — the seven-chapter Deep Learning series, recommended; its titles carry no links
s004 = [
    ("Oct 2017", "But what is a Neural Network?", 1, "neural-network",
     "The single best 18 minutes you can spend understanding what a neural network actually is — start here before you read another article about LLMs."),
    ("Oct 2017", "Gradient descent, how neural networks learn", 2, "gradient-descent",
     "Once you've watched Chapter 1, this is how the magic actually happens — gradient descent is the engine that turns \"random weights\" into \"learned model\"."),
    ("Nov 2017", "What is backpropagation really doing?", 3, "backpropagation",
     "Backpropagation feels like wizardry until you've watched this; afterwards it feels like the only sensible way it could possibly work."),
    ("Nov 2017", "Backpropagation calculus", 4, "backpropagation-calculus",
     "The calculus companion to Chapter 3 — if you remember any chain rule, this is where backprop stops being magic and starts being algebra."),
    ("Apr 2024", "Transformers, the tech behind LLMs", 5, "transformers",
     "If you've ever wanted to actually understand what's happening inside ChatGPT instead of just using it, this is where the picture starts to come together."),
    ("Apr 2024", "Attention in transformers, step-by-step", 6, "attention",
     "Attention is the single mechanism that makes modern LLMs work — this video walks through it slowly enough that the elegance of the design clicks."),
    ("Aug 2024", "How might LLMs store facts", 7, "llms-store-facts",
     "The MLPs inside transformers are the under-discussed half of an LLM — Grant shows how a model might actually remember that \"Michael Jordan plays basketball\"."),
]
lessons = []
for date, title, chapter, lid, blurb in s004:
    found = cat.video_by_title(title, "3Blue1Brown")
    assert found and found.get("youtube"), f"004: no seed links {title!r}"
    found["date"] = date
    full = f"{title} (Deep Learning, Chapter {chapter})"
    lessons.append(lesson(chapter, lid, f"Chapter {chapter}: {title}", [{"id": found["id"], "title": full, "note": blurb}]))
data["courses"].append({
    "id": "deep-learning-3blue1brown", "title": "3Blue1Brown's Deep Learning series, in seven chapters",
    "source": "004_7cc32e4b57a73c47.txt",
    "note": ("If you want to actually understand what’s happening inside ChatGPT (or any modern neural network) — not just use it, "
             "but get a real mental model of what the math is doing — Grant Sanderson’s Deep Learning series on 3Blue1Brown is the "
             "single best place I’ve found. Seven chapters, each one beautifully animated, walking from “what is a neural network, "
             "structurally” all the way to “how might an LLM actually store the fact that Michael Jordan plays basketball.”\n\n"
             "I’ve found the early chapters (1–4) timeless — they teach the foundations any practitioner needs. Chapters 5–7 are newer "
             "(2024) and address what makes today’s LLMs work: transformers, attention, and the under-discussed role of MLPs in storing "
             "factual knowledge.\n\nWatch them in order. Take notes. It’s worth it.\n\n— Mark"),
    "lessons": lessons})

import_index(data, (SEEDS / "001_d1d7603f62d58559.txt").read_text(), course_id="ml-foundations",
             name="001_d1d7603f62d58559.txt", title="Foundations for Machine Learning: Video Series Index")
# Importing 000 again puts the hand-added phases and note in the importer's field order, so a
# later `companion import` of the same seed is a no-op.
import_index(data, (SEEDS / "000_68aef646c0788ccf.txt").read_text(), course_id="math-for-ml",
             name="000_68aef646c0788ccf.txt")
OUT.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
print(f"wrote {OUT}: {len(data['courses'])} courses, {len(data['videos'])} videos, {len(data['resources'])} resources")
