"""Runs a composite GitHub Action's steps locally, as the runner would.

Usage: python3 action.py ACTION_YML [INPUT=VALUE ...]

Each step's `if:` and the `${{ … }}` expressions in its `env:` and `with:`
are evaluated (the subset of GitHub's expression language action.yml uses:
inputs.*, github.*, string literals, ==, !=, &&, ||, !, parentheses); each
`run:` runs with `bash --noprofile --norc -eo pipefail`, as `shell: bash`
does, with $GITHUB_PATH honoured between steps. A step that `uses:` another
action cannot run here and is an error unless its `if:` skips it. A `run:`
script must not hold an expression: inputs reach scripts through env only.
Prints `action: step "NAME" passed|skipped|failed` lines; exits 1 at the
first failing step, as a job does.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|!|\(|\))|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_.-]*))")


def evaluate(expr, ctx):
    """Evaluates an expression to a value (strings; booleans from == and !=)."""
    tokens = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise SystemExit(f"action: cannot evaluate {expr!r} at {expr[pos:]!r}")
        pos = m.end()
        if m.group(1):
            tokens.append(("op", m.group(1)))
        elif m.group(2) is not None:
            tokens.append(("str", m.group(2).replace("''", "'")))
        else:
            tokens.append(("name", m.group(3)))
    tokens.append(("end", None))
    i = 0

    def peek():
        return tokens[i]

    def take():
        nonlocal i
        i += 1
        return tokens[i - 1]

    def primary():
        kind, val = take()
        if kind == "op" and val == "(":
            v = or_expr()
            if take() != ("op", ")"):
                raise SystemExit(f"action: unbalanced parentheses in {expr!r}")
            return v
        if kind == "op" and val == "!":
            return not truthy(primary())
        if kind == "str":
            return val
        if kind == "name":
            if val in ("true", "false"):
                return val == "true"
            scope, _, key = val.partition(".")
            if scope not in ctx:
                raise SystemExit(f"action: unknown context {scope!r} in {expr!r}")
            return ctx[scope].get(key, "")
        raise SystemExit(f"action: unexpected {val!r} in {expr!r}")

    def comparison():
        v = primary()
        while peek() in (("op", "=="), ("op", "!=")):
            op = take()[1]
            w = primary()
            v = (str(v) == str(w)) if op == "==" else (str(v) != str(w))
        return v

    def and_expr():
        v = comparison()
        while peek() == ("op", "&&"):
            take()
            w = comparison()
            v = w if truthy(v) else v
        return v

    def or_expr():
        v = and_expr()
        while peek() == ("op", "||"):
            take()
            w = and_expr()
            v = v if truthy(v) else w
        return v

    v = or_expr()
    if peek()[0] != "end":
        raise SystemExit(f"action: trailing {peek()[1]!r} in {expr!r}")
    return v


def truthy(v):
    return v not in ("", False, None, 0)


def render(text, ctx):
    """Replaces each ${{ expr }} in text with its value."""
    def one(m):
        v = evaluate(m.group(1), ctx)
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def main():
    action_file = sys.argv[1]
    with open(action_file) as f:
        action = yaml.safe_load(f)
    if action["runs"]["using"] != "composite":
        raise SystemExit("action: not a composite action")
    inputs = {name: str(spec.get("default", "")) for name, spec in action.get("inputs", {}).items()}
    for arg in sys.argv[2:]:
        name, sep, value = arg.partition("=")
        if not sep or name not in inputs:
            raise SystemExit(f"action: unknown input {arg!r}; inputs: {', '.join(inputs)}")
        inputs[name] = value
    ctx = {
        "inputs": inputs,
        "github": {
            "action_ref": "",
            "action_path": os.path.dirname(os.path.abspath(action_file)),
            "workspace": os.getcwd(),
        },
    }
    temp = tempfile.mkdtemp(prefix="action-")
    try:
        run_steps(action, ctx, temp)
    finally:
        shutil.rmtree(temp)


def run_steps(action, ctx, temp):
    path_file = os.path.join(temp, "github_path")
    extra_path = []
    for n, step in enumerate(action["runs"]["steps"], 1):
        name = step.get("name", f"step {n}")
        cond = step.get("if")
        if cond is not None:
            cond = str(cond).strip()
            if cond.startswith("${{") and cond.endswith("}}"):
                cond = cond[3:-2]
            if not truthy(evaluate(cond, ctx)):
                print(f'action: step "{name}" skipped', flush=True)
                continue
        if "uses" in step:
            raise SystemExit(f'action: step "{name}" uses {step["uses"]}, which cannot run here: skip it with an input')
        script = step["run"]
        if "${{" in script:
            raise SystemExit(f'action: step "{name}" has an expression in its script: pass inputs through env')
        if step.get("shell") != "bash":
            raise SystemExit(f'action: step "{name}" does not say shell: bash')
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join(extra_path + [env["PATH"]])
        env["GITHUB_PATH"] = path_file
        env["GITHUB_ACTION_PATH"] = ctx["github"]["action_path"]
        for key, value in (step.get("env") or {}).items():
            env[key] = render(value, ctx)
        open(path_file, "w").close()
        script_file = os.path.join(temp, f"step{n}.sh")
        with open(script_file, "w") as f:
            f.write(script)
        print(f'action: step "{name}"', flush=True)
        rc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script_file], env=env).returncode
        with open(path_file) as f:
            extra_path = [line.strip() for line in f if line.strip()] + extra_path
        if rc != 0:
            print(f'action: step "{name}" failed (exit {rc})', flush=True)
            sys.exit(1)
        print(f'action: step "{name}" passed', flush=True)


if __name__ == "__main__":
    main()
