"""What the result store buys on the full course: cold build, no-op rebuild, prose edit, one sweep value edit.

Run it as ``.venv/bin/python benchmarks/cache.py``. It copies ``experiments/``
into a temporary folder (the shipped definitions are never touched), builds
there with a fresh store, and prints a table of seconds against the cold
build, then one PASS/FAIL line per target. The exit status is 1 if any
target is missed.

Targets: a rebuild with nothing changed takes under 10 % of the cold build
(measured through the command line, interpreter start included); editing only
prose (the course subtitle) renders HTML and PDF in under 5 s and retrains no
run; changing one sweep value (overfitting's noise 0.3 -> 0.25) retrains
exactly the runs that value touches (18); the explorers (snapshots recorded by
the trainer, their data and script in report.html) add at most 10 % to a cold
build, against a cold build in a second fresh store with snapshot recording
and explorers switched off in this process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportgen.build import BuildOptions, BuildSummary, build  # noqa: E402
from reportgen.spec import load_course  # noqa: E402
from reportgen.studies import prior_analysis  # noqa: E402
from reportgen.training import job  # noqa: E402

EXPLORER_TARGET = 0.10
"""Most that the explorers may add to a cold build."""

SUBTITLE = ('subtitle = "Lab report: polynomials, priors and multilayer perceptrons"',
            'subtitle = "Lab report: polynomials, priors and multilayer perceptrons (revised)"')
NOISE = ('"data.noise" = [0.1, 0.3]', '"data.noise" = [0.1, 0.25]')


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        sys.exit(f"{path.name} no longer contains {old!r}; update benchmarks/cache.py")
    path.write_text(text.replace(old, new), encoding="utf-8")


def timed_build(options: BuildOptions) -> tuple[float, BuildSummary]:
    start = time.perf_counter()
    summary = build(options)
    return time.perf_counter() - start, summary


@contextmanager
def without_explorers() -> Iterator[None]:
    """No snapshot recorded by the trainer (so no training explorer) and no prior explorer, in this process and in
    the workers it forks."""
    saved = job.SNAPSHOTS, prior_analysis.prior_explorers
    job.SNAPSHOTS, prior_analysis.prior_explorers = 0, lambda *args: {}
    try:
        yield
    finally:
        job.SNAPSHOTS, prior_analysis.prior_explorers = saved


def computed(summary: BuildSummary) -> int:
    return sum(e.trained for e in summary.executions.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores, as reportgen build)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        root = Path(tmp)
        definitions, cache, out = root / "experiments", root / "cache", root / "build"
        shutil.copytree(ROOT / "experiments", definitions)
        options = BuildOptions(definitions=definitions, out=out, cache=cache, jobs=args.jobs)
        total_runs = sum(s.n_runs for s in load_course(definitions).studies)
        print(f"full course: {total_runs} runs, {args.jobs} jobs, definitions copied to {definitions}", flush=True)

        rows = []
        print("cold build without explorers (second fresh store) ...", flush=True)
        with without_explorers():
            bare, bare_summary = timed_build(BuildOptions(definitions=definitions, out=root / "bare",
                                                          cache=root / "bare-cache", jobs=args.jobs))
        bare_size = (root / "bare" / "report.html").stat().st_size
        print("cold build (fresh store) ...", flush=True)
        cold, summary = timed_build(options)
        rows.append(("cold build, fresh store", cold, computed(summary), ""))
        size = (out / "report.html").stat().st_size
        rows.append(("cold build without explorers", bare, computed(bare_summary),
                     f"report.html {bare_size / 1e6:.2f} MB, with explorers {size / 1e6:.2f} MB"))

        warm_api, summary = timed_build(options)
        assert summary.up_to_date
        rows.append(("no change, in-process", warm_api, computed(summary), "up to date"))

        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "reportgen", "build", "--definitions", str(definitions),
                              "--out", str(out), "--cache", str(cache), "--jobs", str(args.jobs)],
                             capture_output=True, text=True, cwd=ROOT)
        warm_cli = time.perf_counter() - start
        cli_no_op = cli.returncode == 0 and "up to date" in cli.stderr
        if not cli_no_op:
            print(cli.stderr, file=sys.stderr)
        rows.append(("no change, command line", warm_cli, 0, "up to date, interpreter start included"))

        edit(definitions / "course.toml", *SUBTITLE)
        prose, summary = timed_build(options)
        prose_render = summary.timings.get("html", 0.0) + summary.timings.get("pdf", 0.0)
        prose_runs = computed(summary)
        rows.append(("prose edit (subtitle)", prose, prose_runs, f"HTML+PDF {prose_render:.2f} s"))

        edit(definitions / "overfitting.toml", *NOISE)
        touched = sum(1 for s in load_course(definitions).studies for p in s.points for _ in s.seeds
                      if ("data.noise", 0.25) in p.params)
        print("sweep edit ...", flush=True)
        sweep, summary = timed_build(options)
        sweep_runs = computed(summary)
        per_study = ", ".join(f"{k} {e.trained}" for k, e in summary.executions.items() if e.trained)
        rows.append(("sweep edit (noise 0.3 -> 0.25)", sweep, sweep_runs, per_study))

    print()
    print(f"{'build':<32}{'seconds':>9}{'vs cold':>10}{'runs computed':>15}  note")
    for name, seconds, runs, note in rows:
        print(f"{name:<32}{seconds:>9.2f}{100 * seconds / cold:>9.1f}%{runs:>15}  {note}")
    print()

    explorer_cost = cold / bare - 1
    checks = [
        (explorer_cost <= EXPLORER_TARGET,
         f"explorers add {100 * explorer_cost:+.1f} % to a cold build (target <= {100 * EXPLORER_TARGET:.0f} %); "
         f"{(size - bare_size) / 1e3:.0f} KB of report.html"),
        (cli_no_op and warm_cli < 0.10 * cold,
         f"no-change rebuild {warm_cli:.2f} s (command line, up to date) < 10% of cold ({0.10 * cold:.2f} s)"),
        (prose_render < 5.0, f"prose edit: HTML+PDF {prose_render:.2f} s < 5 s"),
        (prose_runs == 0, f"prose edit: {prose_runs} runs retrained (want 0)"),
        (sweep_runs == touched == 18, f"sweep edit: {sweep_runs} runs retrained (want the {touched} runs the value "
                                      "touches, 18)"),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
