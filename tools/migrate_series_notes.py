"""One-off migration (kept for provenance): series notes move from `series[].note`, where the
importer had merged every source's words about a series, to the course whose source wrote them
(`courses[].series`), and items get the series their course's source lists them under.

The two "Video Series Index" courses are re-imported from their sources (the importer now writes
this shape, so importing them again changes nothing); the three ordered lists name no series of
their own, so their courses list the series their items come from, without notes.
Run from the repository root: `python tools/migrate_series_notes.py`."""

from __future__ import annotations

import json
from pathlib import Path

from companion.importer import import_index

CATALOG = Path("catalog.json")
KINDS = {"andrej-karpathy-neural-networks-zero-to-hero": "live-coding",
         "mit-ocw-strang-18-06-key-lectures": "lecture", "stanford-cs25": "lecture",
         "dr-trefor-bazett-multivariable-calculus-linear": "lecture"}
TITLES = {"002_0598ed8ac41e3d14.txt": "Build Intuition with 3Blue1Brown",
          "003_8aa86ed609bd4dca.txt": "Bootstrap knowledge of LLMs ASAP",
          "004_7cc32e4b57a73c47.txt": "A recommendation of 3Blue1Brown's Deep Learning series"}
ORDER = ("id", "title", "source", "source_title", "note", "phases", "series", "lessons")

data = json.loads(CATALOG.read_text(encoding="utf-8"))
for s in data["series"]:
    s.pop("note", None)
    if s["id"] in KINDS:
        s["kind"] = KINDS[s["id"]]
items = {x["id"]: x for kind in ("videos", "resources") for x in data[kind]}
for course in list(data["courses"]):
    source = course.get("source", "")
    if source in TITLES:
        used = [items[a if isinstance(a, str) else a["id"]].get("series") for l in course["lessons"]
                for kind in ("videos", "resources") for a in l.get(kind, [])]
        course["series"] = [{"id": sid} for sid in dict.fromkeys(s for s in used if s)]
        course["source_title"] = TITLES[source]
        data["courses"][data["courses"].index(course)] = {k: course[k] for k in ORDER if k in course}
    else:
        import_index(data, (Path("sources") / source).read_text(encoding="utf-8"), course_id=course["id"], name=source)
CATALOG.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
