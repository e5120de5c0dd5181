#!/usr/bin/env python3
"""tests/layout.py BUILD TOP - the source layout keeps its rules.

Reads which object file of BUILD uses a symbol another one defines (nm) and
which header each file of TOP includes, then checks:

  objects   no circle: each module of src/ and providers/ depends only on
            modules below it (the strongly connected components of the
            object graph are all single files);
  headers   no circle of includes among the project's headers;
  folders   nothing in the core (the top of src/, providers/) or the SPF
            engine (src/spf/) uses a command folder (src/check/, src/smtp/,
            src/report/), and no command folder uses another: only main.c
            and run.c reach them;
  main      main.o calls only the commands, the configuration loader and the
            command-line helpers: it parses and dispatches, nothing else.

Each check prints "ok - ..." or "not ok - ..." with the offending files;
the exit status is the number of failed checks.
"""
import glob
import os
import re
import subprocess
import sys

build, top = sys.argv[1], sys.argv[2]
fails = 0


def report(ok, what, detail=()):
    global fails
    print(("ok - " if ok else "not ok - ") + what)
    for line in detail:
        print("#   " + line)
    fails += not ok


def sccs(graph):
    """Tarjan's algorithm, iterative; components of more than one node."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = n
        n += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n
                    n += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


# --- objects -------------------------------------------------------------
objs = sorted(glob.glob(os.path.join(build, "src", "**", "*.o"), recursive=True) +
              glob.glob(os.path.join(build, "providers", "*.o")))
defs, undef = {}, {}
for o in objs:
    rel = os.path.relpath(o, build)[:-2]
    # a file compiled from a source that is gone (a stale object) is not
    # part of the layout
    if not os.path.exists(os.path.join(top, rel + ".c")):
        continue
    out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
    d, u = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBRC":
            d.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            u.add(f[1])
    defs[rel], undef[rel] = d, u
owner = {s: o for o, d in defs.items() for s in d}
uses = {o: {owner[s] for s in u if s in owner and owner[s] != o} for o, u in undef.items()}
report(len(defs) > 20, "the objects of %s are read (%d)" % (build, len(defs)))
circles = sccs(uses)
report(not circles, "no circle among the modules",
       ["circle: " + " <-> ".join(c) for c in circles])


# --- folders -------------------------------------------------------------
def folder(mod):
    parts = mod.split("/")
    return parts[1] if parts[0] == "src" and len(parts) == 3 else parts[0]


commands = {"check", "smtp", "report"}
bad = []
for o, us in sorted(uses.items()):
    f = folder(o)
    if o in ("src/main", "src/run"):
        continue
    for u in sorted(us):
        g = folder(u)
        if g in commands and g != f:
            bad.append("%s uses %s" % (o, u))
report(not bad, "only main.c and run.c use a command folder; no command another", bad)

# --- main ----------------------------------------------------------------
allowed = re.compile(r"^(cmd_\w+|config_(load|release|find_domain)|usage_error|"
                     r"duration_seconds|shard_parse|strv_\w+|prov_exit_status)$")
called = sorted(s for s in undef.get("src/main", ()) if s in owner and not allowed.match(s))
report("src/main" in undef and not called,
       "main.c parses the command line and dispatches, nothing else",
       ["main.c calls " + s + " (" + owner[s] + ")" for s in called])

# --- headers -------------------------------------------------------------
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
dirs = [os.path.join(top, "include"), os.path.join(top, "src")]
files = sorted(glob.glob(os.path.join(top, "src", "**", "*.[ch]"), recursive=True) +
               glob.glob(os.path.join(top, "providers", "*.[ch]")) +
               glob.glob(os.path.join(top, "include", "provision", "*.h")))
graph = {}
for f in files:
    edges = set()
    for name in inc.findall(open(f, encoding="utf-8").read()):
        for d in [os.path.dirname(f)] + dirs:
            p = os.path.normpath(os.path.join(d, name))
            if os.path.exists(p):
                edges.add(os.path.relpath(p, top))
                break
    graph[os.path.relpath(f, top)] = edges
hcircles = sccs(graph)
report(not hcircles, "no circle of includes among %d files" % len(files),
       ["circle: " + " <-> ".join(c) for c in hcircles])

sys.exit(fails)
