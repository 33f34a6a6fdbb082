#!/usr/bin/env python3
"""Checks that the top-level modules of shared/src form layers: every `crate::…` reference outside test
code points to a module of the same or a lower layer, and there is no cycle among modules of one layer.
The crate-root re-exports (`crate::App`, `crate::Config`, `crate::GatewayError`) count as their modules.

    python3 infra/check-layers.py [shared/src]

Exits 1 with the offending references (file:line) when a module reaches upward or a cycle appears."""
import os
import re
import sys

# Lowest first. A module may use modules of its own layer or below (never above), without cycles.
LAYERS = [
    ["protocol", "env", "cache", "schema", "tls", "aws"],
    ["store"],
    ["telemetry", "backend", "auth", "ratelimit", "pii"],
    ["config", "error"],
    ["http", "routing"],
    ["app"],
    ["gate", "mcp", "health", "metrics", "code", "admin", "meta"],
    ["boot", "selfhost", "testing"],
]
ROOT_EXPORTS = {"App": "app", "Config": "config", "GatewayError": "error"}
LAYER = {module: i for i, layer in enumerate(LAYERS) for module in layer}


def top_modules(root):
    found = set()
    for name in os.listdir(root):
        if name.endswith(".rs") and name != "lib.rs":
            found.add(name[:-3])
        elif os.path.isdir(os.path.join(root, name)):
            found.add(name)
    return found


def strip_tests(text):
    """Drops `#[cfg(test)]` items (test modules, test-only functions): tests may reach anywhere."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if lines[i].strip().startswith("#[cfg(test)]"):
            i += 1
            depth, opened = 0, False
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                opened = opened or "{" in lines[i]
                ends_item = lines[i].rstrip().endswith(";") and not opened
                i += 1
                if (opened and depth <= 0) or ends_item:
                    break
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def references(text, modules):
    """(module, line number) for every `crate::x` and `crate::{x, y::…}` reference."""
    text = re.sub(r"//[^\n]*", "", text)
    found = []
    line_of = lambda pos: text.count("\n", 0, pos) + 1
    for m in re.finditer(r"crate::(\w+)", text):
        found.append((m.group(1), line_of(m.start())))
    for m in re.finditer(r"crate::\{", text):
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        depth, item, items = 0, "", []
        for ch in text[m.end(): j - 1]:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                items.append(item)
                item = ""
            else:
                item += ch
        items.append(item)
        for it in items:
            name = re.match(r"\s*(\w+)", it)
            if name:
                found.append((name.group(1), line_of(m.start())))
    resolved = []
    for name, line in found:
        name = ROOT_EXPORTS.get(name, name)
        if name in modules:
            resolved.append((name, line))
    return resolved


def is_test_file(rel):
    parts = rel.split(os.sep)
    name = parts[-1]
    return "tests" in parts[:-1] or name in ("tests.rs", "testing.rs") or name.endswith("_tests.rs")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "shared", "src")
    modules = top_modules(root)
    problems = [f"top-level module {m!r} is in no layer of infra/check-layers.py" for m in sorted(modules - set(LAYER))]
    edges = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if not name.endswith(".rs") or top == "lib" or is_test_file(rel):
                continue
            for target, line in references(strip_tests(open(path).read()), modules):
                if target == top or target not in LAYER or top not in LAYER:
                    continue
                if LAYER[target] > LAYER[top]:
                    problems.append(f"{rel}:{line}: {top} (layer {LAYER[top]}) uses {target} (layer {LAYER[target]})")
                edges.setdefault(top, set()).add(target)
    # Cycles inside a layer (Tarjan's strongly connected components).
    index, low, stack, on, counter, cycles = {}, {}, [], set(), [0], []

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(modules):
        if v not in index:
            connect(v)
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles]
    if problems:
        print("shared/src is not layered:", *problems, sep="\n  ")
        return 1
    print(f"layers ok: {len(modules)} top-level modules, {sum(len(e) for e in edges.values())} dependencies, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
