"""Peak memory of `rag index build FILE` for hostile-but-valid inputs, old code vs. new.

Each case runs the real CLI (`rag --index DIR index build FILE`) in its own subprocess and
reads the child's peak RSS from the kernel (wait4's ru_maxrss). The inputs are the ones
that blew up in issue 11: prose whose sentences start in lower case and have no full stops
(30 KB, 300 KB, 9 MB on one line) and the repro, a 5 MB line of 'x'.

With --baseline REF the same cases also run against the code at git REF (exported with
`git archive` to a temporary folder and put first on PYTHONPATH), in the same run. The
old code grows without bound on these inputs, so a baseline child is killed once its RSS
passes --baseline-cap-mb or it runs past --timeout; its row then says so and shows the
peak it had reached.

    nice -n 19 .venv/bin/python scripts/bench_memory.py --baseline 93c8736 \
        --timeout 900 --baseline-timeout 120

Measured that way on the 2-core development machine (2026-11-29), peak RSS old -> new:
the letter 691 -> 690 MB; 30 KB 808 -> 691 MB; 300 KB 1915 -> 698 MB; 5 MB of 'x' killed
at 2512 MB after 68 s -> 854 MB (4,096 passages, 321 s); 9 MB killed at 2508 MB after
110 s -> 1185 MB (27,872 passages, 476 s). Budget: under 1536 MB for any file up to 10 MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LETTER = ROOT / "index" / "corpus" / "eu-geopolitiek-kamerbrief.txt"
BUDGET_MB = 1536  # the budget: any file under the 10 MB upload limit, < 1.5 GB


@dataclass
class Result:
    status: str  # "ok", "exit N", "killed >cap", "timeout"
    wall_s: float
    peak_mb: float
    passages: str


def lowercase_prose(size: int) -> str:
    """The letter's words in lower case, without . ! ? and without line breaks."""
    words = LETTER.read_text(encoding="utf-8").lower().translate({ord(c): None for c in ".!?"})
    text = " ".join(words.split())
    return (text + " ") * (size // (len(text) + 1)) + text[: size % (len(text) + 1)]


CASES = {
    "the letter (reference)": lambda: LETTER.read_text(encoding="utf-8"),
    "30 KB lower-case, no stops": lambda: lowercase_prose(30_000) + "\n",
    "300 KB lower-case, no stops": lambda: lowercase_prose(300_000) + "\n",
    "5 MB one line of 'x' (repro)": lambda: "x" * 5_242_880 + "\n",
    "9 MB one line, no stops": lambda: lowercase_prose(9_000_000) + "\n",
}


def run_case(file: Path, index: Path, pythonpath: Path, cap_mb: float, timeout: float) -> Result:
    """Run the CLI on `file`; kill it past `cap_mb` RSS or `timeout` seconds."""
    env = dict(os.environ, PYTHONPATH=str(pythonpath), RAG_DEBUG="")
    command = [sys.executable, "-c", "from ui.cli import main; main()"]
    command += ["--index", str(index), "index", "build", str(file)]
    start = time.monotonic()
    out_path, err_path = index.with_suffix(".out"), index.with_suffix(".err")
    with open(out_path, "wb") as out_file, open(err_path, "wb") as err_file:
        process = subprocess.Popen(
            command, env=env, stdout=out_file, stderr=err_file, cwd=pythonpath
        )
    status = ""
    while True:  # wait4, not Popen.poll: only wait4 reports the child's peak RSS
        pid, code, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if _rss_mb(process.pid) > cap_mb:
            status = f"killed >{cap_mb:.0f} MB"
        elif time.monotonic() - start > timeout:
            status = f"timeout {timeout:.0f} s"
        if status:
            process.send_signal(signal.SIGKILL)
            _, code, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    process.returncode = code  # reaped above
    wall = time.monotonic() - start
    out = out_path.read_text(errors="replace")
    err = err_path.read_text(errors="replace").strip().splitlines()
    if not status:
        exit_code = os.waitstatus_to_exitcode(code)
        status = "ok" if exit_code == 0 else f"exit {exit_code}: {(err or [''])[-1][:120]}"
    passages = out.split(", ")[1].split(" ")[0] if out.startswith("Indexed") else "-"
    return Result(status, wall, usage.ru_maxrss / 1024, passages)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def export(ref: str, target: Path) -> Path:
    """The code at git `ref`, as files under `target`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="git ref of the code to compare against")
    parser.add_argument("--baseline-cap-mb", type=float, default=2500)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--baseline-timeout", type=float, default=60)
    parser.add_argument("--only", nargs="*", help="run only cases whose name contains these")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        old = None
        if args.baseline:
            (work / "old").mkdir()
            old = export(args.baseline, work / "old")
        for n, (name, make) in enumerate(CASES.items()):
            if args.only and not any(word in name for word in args.only):
                continue
            file = work / f"case{n}.txt"
            file.write_text(make(), encoding="utf-8")
            size = file.stat().st_size
            new = run_case(file, work / f"new{n}", ROOT, 1e9, args.timeout)
            before = (
                run_case(file, work / f"old{n}", old, args.baseline_cap_mb, args.baseline_timeout)
                if old is not None
                else None
            )
            rows.append((name, size, before, new))
            _print_row(rows[-1])
            file.unlink()
    print()
    print(f"budget: peak RSS < {BUDGET_MB} MB for any file under the 10 MB upload limit")
    worst = max(r[3].peak_mb for r in rows)
    print(f"worst new peak: {worst:.0f} MB ({'within' if worst < BUDGET_MB else 'OVER'} budget)")


def _print_row(row: tuple[str, int, Result | None, Result]) -> None:
    name, size, before, new = row
    if before is None:
        print(
            f"{name:<30} {size / 1e6:6.2f} MB  new: {new.status:<8} {new.wall_s:6.1f} s "
            f"peak {new.peak_mb:7.0f} MB  passages {new.passages}"
        )
        return
    ratio = before.peak_mb / new.peak_mb if new.peak_mb else float("nan")
    print(
        f"{name:<30} {size / 1e6:6.2f} MB | old: {before.status:<16} {before.wall_s:6.1f} s "
        f"peak {before.peak_mb:7.0f} MB | new: {new.status:<4} {new.wall_s:6.1f} s "
        f"peak {new.peak_mb:7.0f} MB, {new.passages} passages | old/new peak {ratio:4.1f}x"
        + (" (old stopped early: its peak is a lower bound)" if before.status != "ok" else ""),
        flush=True,
    )


if __name__ == "__main__":
    main()
