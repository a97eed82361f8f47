#!/usr/bin/env python3
"""Per-class test strength from PIT's mutations.xml.

usage: summary.py MUTATIONS_XML [--survivors] [--check THRESHOLDS]

Strength = killed / (mutants with coverage), as PIT's "test strength": a mutant no test reaches is
counted apart (no_cov). With --check, each line "Class percent" of THRESHOLDS must be met or beaten
(the CI gate: strength may only rise); exit status 1 names every class below its floor.
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

KILLED = {"KILLED", "TIMED_OUT", "MEMORY_ERROR", "RUN_ERROR"}


def load(path):
    per = defaultdict(lambda: {"all": 0, "killed": 0, "nocov": 0, "survived": []})
    for m in ET.parse(path).getroot():
        cls = m.findtext("mutatedClass").split("$")[0]
        status = m.get("status")
        c = per[cls]
        c["all"] += 1
        if status in KILLED:
            c["killed"] += 1
        elif status == "NO_COVERAGE":
            c["nocov"] += 1
        else:
            c["survived"].append("%s:%s %s (%s)" % (m.findtext("sourceFile"), m.findtext("lineNumber"),
                                                     m.findtext("description"), m.findtext("mutatedMethod")))
    return per


def strength(c):
    covered = c["all"] - c["nocov"]
    # No covered mutant means the tests no longer reach the class: that is 0, not a perfect score.
    return 100.0 * c["killed"] / covered if covered else 0.0


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    per = load(args[0])
    print("| class | mutants | no coverage | killed | strength |")
    print("|---|---:|---:|---:|---:|")
    tot = {"all": 0, "killed": 0, "nocov": 0}
    for cls in sorted(per):
        c = per[cls]
        for k in tot:
            tot[k] += c[k]
        print("| `%s` | %d | %d | %d | %.1f %% |" % (cls.replace("asymbp.", ""), c["all"], c["nocov"], c["killed"], strength(c)))
    print("| **all** | %d | %d | %d | %.1f %% |" % (tot["all"], tot["nocov"], tot["killed"], strength(dict(tot, survived=[]))))
    if "--survivors" in args:
        for cls in sorted(per):
            for s in per[cls]["survived"]:
                print("SURVIVED " + s)
    if "--check" in args:
        floors = open(args[args.index("--check") + 1]).read().split("\n")
        bad = []
        for line in floors:
            line = line.split("#")[0].split()
            if len(line) != 2:
                continue
            cls, floor = line[0], float(line[1])
            if cls not in per:
                bad.append("%s: no mutants found (class renamed? update the thresholds file)" % cls)
            elif strength(per[cls]) < floor:
                bad.append("%s: test strength %.1f %% is below its recorded %.1f %%" % (cls, strength(per[cls]), floor))
        for b in bad:
            print("FAIL " + b)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
