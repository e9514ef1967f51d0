"""Failing schedules on disk: what --save-schedules writes and
--replay-schedule reads.  A schedule is the list of choices of one run of
the explorer (pagecore/verify/explore.py), which replays it exactly."""

import json

from pagecore._errors import PagecoreError
from pagecore.verify.scenarios import SCENARIOS

SCHEDULE_FORMAT = "pagecore-schedule/1"


def schedule_doc(variant, scenario, setup, f):
    sc = SCENARIOS[scenario]
    return {"format": SCHEDULE_FORMAT, "variant": variant, "scenario": scenario,
            "setup": sc.setups.index(setup), "setup_title": setup.title,
            "tasks": [n for n, _ in setup.tasks], "schedule": list(f.schedule),
            "preemptions": f.preemptions, "steps": f.steps, "failures": f.kinds,
            "end": f.end}


def load_schedule(path):
    try:
        with open(path) as fh:
            doc = json.load(fh)
    except OSError as e:
        raise PagecoreError("--replay-schedule %s: %s" % (path, e.strerror or e)) from None
    except ValueError as e:
        raise PagecoreError("--replay-schedule %s: not JSON (%s)" % (path, e)) from None
    if isinstance(doc, dict) and "results" in doc:
        # a verify --json file: its first saved schedule
        found = [r["schedule"] for r in doc["results"]
                 if isinstance(r, dict) and isinstance(r.get("schedule"), dict)]
        if len(found) != 1:
            raise PagecoreError("--replay-schedule %s: %s failing schedules in it; give one "
                                "file of --save-schedules" % (path, len(found) or "no"))
        doc = found[0]
    if not isinstance(doc, dict) or doc.get("format") != SCHEDULE_FORMAT:
        raise PagecoreError("--replay-schedule %s: not a pagecore schedule" % path)
    from pagecore.model.variants import VARIANTS
    if doc.get("variant") not in VARIANTS:
        raise PagecoreError("--replay-schedule %s: unknown variant %r" % (path, doc.get("variant")))
    sc = SCENARIOS.get(doc.get("scenario"))
    titles = [st.title for st in sc.setups] if sc else []
    if doc.get("setup_title") in titles:
        # by title: a schedule outlives a reordering of the scenario's setups
        doc["setup"] = titles.index(doc["setup_title"])
    if (sc is None or not isinstance(doc.get("setup"), int)
            or not 0 <= doc["setup"] < len(sc.setups)):
        raise PagecoreError("--replay-schedule %s: unknown scenario or setup" % path)
    sched = doc.get("schedule")
    ntasks = len(sc.setups[doc["setup"]].tasks)
    if not isinstance(sched, list) or not all(isinstance(x, int) and 0 <= x < ntasks
                                               for x in sched):
        raise PagecoreError("--replay-schedule %s: the schedule must be a list of task "
                            "numbers 0..%d" % (path, ntasks - 1))
    return doc


def save_schedules(results, directory):
    """Write the shortest failing schedule of each racy cell; the paths."""
    import os

    out = []
    for r in results:
        doc = r.get("schedule")
        if not doc:
            continue
        path = os.path.join(directory, "%s.%s.json" % (r["variant"], r["scenario"]))
        try:
            with open(path, "w") as fh:
                json.dump(doc, fh, indent=1)
                fh.write("\n")
        except OSError as e:
            raise PagecoreError("--save-schedules %s: %s" % (path, e.strerror or e)) from None
        out.append(path)
    return out
