"""``bpgrade doctor``: which isolation layers this machine gives student code, and why not the others."""

from __future__ import annotations

import argparse
import json

from autograder.harness.sandbox import Sandbox, SandboxError, describe
from autograder.harness.zygote import Zygote


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("doctor", help="show the sandbox tiers and layers active on this machine")
    p.add_argument("--tier", default="auto", choices=("auto", "bwrap", "seccomp", "rlimits"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _text(info: dict) -> str:
    lines = [f"grader uid {info.get('grader_uid')} on {info.get('arch')}"]
    if "error" in info:
        return "\n".join(
            lines + [f"NO SANDBOX: {info['error']}", "run `bpgrade setup` (as root) to fix"]
        )
    lines.append(
        f"child python: {info.get('python')} (Python {info.get('python_version')}, numpy {info.get('numpy_version')})"
    )
    lines.append(f"student code may import: {', '.join(info.get('provided', []))} and the stdlib")
    lines.append(f"chosen tier: {info.get('tier')}")
    for layer, state in info.get("layers", {}).items():
        lines.append(f"  {layer:<11} {state}")
    lines.append("tiers on this machine:")
    for tier, t in info.get("tiers", {}).items():
        mark = "yes" if t["available"] else "no "
        lines.append(f"  {mark} {tier:<8} {t['reason']}")
    lines += [f"WARNING: {w}" for w in info.get("warnings", [])]
    return "\n".join(lines)


def _workers(tier: str) -> str:
    """How each submission gets its worker in ``tier`` (see autograder/harness/zygote.py)."""
    try:
        zygote = Zygote.supported(Sandbox(tier=tier))
    except SandboxError:
        return "none"
    if zygote:
        return "forked from a sandboxed zygote that has numpy loaded (one per grading slot)"
    return "a new sandboxed interpreter per submission (no zygote: needs a pid namespace or slot uid, and seccomp)"


def run(args: argparse.Namespace) -> int:
    info = describe(args.tier)
    if "error" not in info:
        info["layers"]["workers"] = _workers(args.tier)
    print(json.dumps(info, indent=2, default=str) if args.json else _text(info))
    return 1 if "error" in info else 0
