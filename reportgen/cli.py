"""Command line: parse options and call the library. No logic lives here.

Heavy libraries (torch, matplotlib, WeasyPrint) are imported only inside
``build``, so ``--help``, ``list`` and ``validate`` start instantly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import BadInputError, BuildError, Interrupted, printable
from .language import LANGUAGES
from .outputs import AUDIENCES

FOUND_HERE = "./course.toml's folder, else ./experiments"
CACHE_DEFAULT = ("[default: .reportgen-cache inside the course folder when building where it stands, "
                 "else beside the definitions folder]")


def _definitions(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    from .discover import definitions_folder

    return definitions_folder(value)


def _scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        from .cluster import check_address

        from_environment = ctx.get_parameter_source(param.name) is click.core.ParameterSource.ENVIRONMENT
        check_address(value, f"DASK_SCHEDULER_ADDRESS={value}" if from_environment else None)
    return value


JOBS_PER_CORE = 4
"""Most worker processes per core --jobs may ask for: every one is forked when a build starts."""


def _jobs(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    cores = os.cpu_count() or 1
    if value is not None and value > JOBS_PER_CORE * cores:
        raise BadInputError(f"--jobs {value}: at most {JOBS_PER_CORE * cores} on this machine "
                            f"({JOBS_PER_CORE} × its {cores} core{'s' if cores > 1 else ''})")
    return value


def echo(text: str, err: bool = False) -> None:
    """Print one line, a course's text in it (titles, file names, keys) unable to drive the terminal."""
    click.echo(printable(text), err=err)


DEFINITIONS = click.option(
    "--definitions", "-d", type=click.Path(path_type=Path), default=None, callback=_definitions,
    show_default=FOUND_HERE, help="Folder holding course.toml and one .toml file per study.")
TEMPLATES = click.option(
    "--templates", type=click.Path(path_type=Path), multiple=True, metavar="DIR",
    help="Folder of your own templates, searched before the built-in ones. Repeatable.")
SCHEDULER = click.option(
    "--scheduler", metavar="ADDRESS", envvar="DASK_SCHEDULER_ADDRESS", default=None, callback=_scheduler,
    help="Compute on the Dask cluster of this scheduler (tcp://HOST:PORT; tls:// and wss:// take certificates "
         "from Dask's configuration) instead of local processes [default: $DASK_SCHEDULER_ADDRESS]. "
         "Needs pip install 'reportgen[dask]'. Results do not depend on it.")
"""Any command that computes studies takes this option (a decorator, like DEFINITIONS)."""
# clean needs the definitions only to find the result store, and must clean outputs where no course is.
STORE_DEFINITIONS = click.option(
    "--definitions", "-d", type=click.Path(path_type=Path), default=None, show_default=FOUND_HERE,
    help="Folder holding course.toml; the default result store is found from it.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reportgen")
def main() -> None:
    """Build lab reports for the function-approximators lecture from declarative experiments.

    Exit status: 0 on success, 1 when the build fails, 2 on bad input
    (definitions, options or templates).
    """


LIMIT_OPTIONS = [
    click.option("--max-runs", type=click.IntRange(min=1), default=None, metavar="N",
                 help="Most runs one study may expand to [default: course.toml's max_runs, else 10,000]."),
    click.option("--max-memory-mb", type=click.IntRange(min=1), default=None, metavar="MB",
                 help="Most memory one study may be estimated to need [default: course.toml's max_memory_mb, "
                      "else 4,096]."),
    click.option("--max-file-kb", type=click.IntRange(min=1), default=None, metavar="KB",
                 help="Largest definition file read [default: course.toml's max_file_kb, else 1,024]."),
]
OUT = click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("build"), show_default=True,
                   help="Output folder for report.html, report.pdf and results.json.")
# What to build and for whom: build, check and serve.
COURSE_OPTIONS = [
    click.argument("studies", nargs=-1),
    DEFINITIONS,
    click.option("--audience", type=click.Choice(list(AUDIENCES)), default=None,
                 help="Edition: student handout (report-student.*, no solutions), instructor edition "
                      "(report.*, everything) or both [default: course.toml's audience, else instructor]."),
    click.option("--lang", "languages", multiple=True, type=click.Choice([*LANGUAGES, "all"]),
                 help="Language of the editions: en, es, or all (every one, each with its own file names: "
                      "report.es.html). Repeatable [default: course.toml's language or languages, else en]."),
    click.option("--profile", default=None, metavar="NAME",
                 help="Apply [profiles.NAME] of course.toml (e.g. a quick profile for CI smoke runs)."),
    click.option("--set", "assignments", multiple=True, metavar="[STUDY.]KEY=VALUE",
                 help="Override one field, validated like the file: --set overfitting.train.steps=500. "
                      "Without a study id it applies to every study that has the field. Repeatable."),
    TEMPLATES,
    *LIMIT_OPTIONS,
]
# How results are computed and stored: build and serve.
COMPUTE_OPTIONS = [
    click.option("--cache", type=click.Path(path_type=Path), default=None, help=f"Result store {CACHE_DEFAULT}."),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the result store; recompute everything."),
    click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, callback=_jobs,
                 help=f"Worker processes on this machine, at most {JOBS_PER_CORE} per core [default: all cores]. "
                      "Results do not depend on it."),
    SCHEDULER,
]


def _with(options: list, command):
    for option in reversed(options):
        command = option(command)
    return command


NOTEBOOKS = click.option("--notebooks/--no-notebooks", default=True, show_default=True,
                         help="Also write each edition's Jupyter notebook: lab.ipynb (student), "
                              "lab-solutions.ipynb (instructor).")


def report_options(command):
    """Options shared by ``build`` and ``check``: what to build, for whom, and where."""
    return _with([*COURSE_OPTIONS[:2], OUT, *COURSE_OPTIONS[2:], NOTEBOOKS], command)


def course_options(command):
    """What to build and for whom, without an output folder (``serve`` writes none)."""
    return _with(COURSE_OPTIONS, command)


def compute_options(command):
    """Options shared by ``build`` and ``serve``: the result store and the worker processes."""
    return _with(COMPUTE_OPTIONS, command)


def with_limits(command):
    """The options that bound the work a course may ask for."""
    return _with(LIMIT_OPTIONS, command)


def _limits(max_runs: int | None, max_memory_mb: int | None, max_file_kb: int | None):
    from .limits import Limits

    return Limits(max_runs=max_runs, max_memory_mb=max_memory_mb, max_file_kb=max_file_kb)


def build_options(*, studies: tuple[str, ...], definitions: Path, audience: str | None,
                  languages: tuple[str, ...], profile: str | None,
                  assignments: tuple[str, ...], templates: tuple[Path, ...], max_runs: int | None,
                  max_memory_mb: int | None, max_file_kb: int | None, cache: Path | None, no_cache: bool,
                  jobs: int | None, scheduler: str | None = None, force: bool = False, **rest):
    """The BuildOptions of the course and compute options as parsed; ``rest`` (out, strict, ...) passes through."""
    from .build import BuildOptions, default_cache
    from .native import requested

    requested()  # a bad REPORTGEN_KERNEL is refused now, not once training starts

    return BuildOptions(definitions=definitions, studies=studies, force=force or no_cache,
                        cache=None if no_cache else (cache or default_cache(definitions)),
                        jobs=jobs or os.cpu_count() or 1, scheduler=scheduler, audience=audience, languages=languages,
                        profile=profile, assignments=assignments, templates=templates,
                        limits=_limits(max_runs, max_memory_mb, max_file_kb), **rest)


@main.command()
@report_options
@compute_options
@click.option("--force", is_flag=True, help="Rebuild even when the outputs are up to date.")
@click.option("--strict", is_flag=True,
              help="Fail (exit 1, nothing written) on any warning: a diverged run, a study file course.toml "
                   "does not list, an unreadable cache entry.")
@click.option("--explain", is_flag=True, help="Say per study which runs were reused and why others were computed.")
@click.option("--timings", is_flag=True, help="Print where the build spent its time.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def build(out: Path, explain: bool, timings: bool, quiet: bool, **given) -> None:
    """Run the studies and write the report.

    STUDIES restricts the build to those study ids (default: every study of
    course.toml, in its order); with one study and --audience student it
    makes that study's handout. Runs whose results are in the result store
    are reused; if nothing changed since the last build, nothing is redone.
    """
    from .build import build as run_build
    from .progress import Reporter

    options = build_options(out=out, **given)  # the course and compute options, --force and --strict
    reporter = Reporter.for_terminal(quiet)
    try:
        summary = run_build(options, reporter)
    except KeyboardInterrupt:
        raise Interrupted("build interrupted (Ctrl-C)") from None
    except SystemExit as exc:  # reportgen's own code never exits mid-build: a plug-in did, and that is no success
        raise BuildError(f"the build was ended by sys.exit({exc.code!r}) from a plug-in") from None
    for warning in summary.warnings:
        echo(f"warning: {warning}", err=True)
    if summary.up_to_date:
        reporter.line(f"{out}: up to date (use --force to rebuild)")
    if explain:
        _explain(summary)
    if timings:
        _timings(summary)
    for path in summary.outputs:
        reporter.line(f"wrote {path}" if not summary.up_to_date else f"unchanged {path}")


@main.command()
@report_options
def check(studies: tuple[str, ...], definitions: Path, out: Path, audience: str | None,
          languages: tuple[str, ...], profile: str | None,
          assignments: tuple[str, ...], templates: tuple[Path, ...], max_runs: int | None,
          max_memory_mb: int | None, max_file_kb: int | None, notebooks: bool) -> None:
    """Exit 1 when the outputs in --out are out of date with the definitions.

    Takes the same options as build and answers whether build would
    rebuild: for a CI job that verifies committed reports. Runs nothing.
    """
    from .build import BuildOptions, input_digest, load, outputs, staleness

    options = BuildOptions(definitions=definitions, out=out, studies=studies, audience=audience,
                           languages=languages, profile=profile,
                           assignments=assignments, templates=templates, notebooks=notebooks,
                           limits=_limits(max_runs, max_memory_mb, max_file_kb))
    course, chosen, folders = load(options)
    reason = staleness(out, input_digest(options, course, chosen, folders), outputs(options, course, chosen))
    if reason is not None:
        echo(f"out of date: {reason}; run reportgen build", err=True)
        sys.exit(1)
    echo(f"{out}: up to date")


@main.command()
@course_options
@compute_options
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on; 0 takes any free one [default: 8000, else the next free one up to 8009].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any but a loopback address shows the report to the network.")
@click.option("--open", "open_browser", is_flag=True, help="Open the report in the default browser once built.")
@click.option("--pdf", is_flag=True,
              help="Render the PDF after every save too (without it, the page's PDF link renders it when asked).")
def serve(port: int | None, host: str, open_browser: bool, pdf: bool, **given) -> None:
    """Build the course, serve its HTML here, and rebuild and reload the page on every save.

    Watches what a build reads: the definitions, course.toml, the template
    folders (--templates, the course's own, plug-in kinds', the built-in
    ones) and the bibliography. Pages are kept in memory: serve writes no
    output folder, only the result store, as build does. Takes build's
    options for what to build and how. Ctrl-C stops it (exit status 0).
    """
    from .serve import ServeOptions
    from .serve import serve as run_serve

    run_serve(build_options(**given), ServeOptions(host=host, port=port, open_browser=open_browser, pdf=pdf))
    # serve has stopped: server closed, workers ended, nothing left to write. Interpreter finalization after a
    # Ctrl-C that reached the whole process group mid-build was seen to end by SIGINT now and then (status -2,
    # about one run in four under load, no traceback), so a clean stop leaves here with its own status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--lecture", is_flag=True,
              help="Write the lecture's full course (course.toml, its profiles and the four studies) instead.")
def init(folder: Path, lecture: bool) -> None:
    """Write a course into FOLDER (new or empty) that builds where it stands.

    A minimal course (course.toml and one study), or with --lecture the
    lecture's own; and a .gitignore for what builds write. Then:

    \b
        cd FOLDER && reportgen build
    """
    import shlex

    from .scaffold import write_course, write_lecture

    for path in (write_lecture if lecture else write_course)(folder):
        echo(f"wrote {path}")
    echo(f"build it with: cd {shlex.quote(str(folder))} && reportgen build")


def _explain(summary) -> None:
    if summary.up_to_date:
        echo("nothing was rebuilt: definitions, templates, code and libraries are unchanged", err=True)
    for study_id, execution in summary.executions.items():
        echo(f"{study_id}: {execution.reused} reused, {execution.trained} computed", err=True)
        by_reason: dict[str, list[str]] = {}
        for label, reason in execution.reasons:
            by_reason.setdefault(reason, []).append(label)
        for reason, labels in by_reason.items():
            shown = "; ".join(labels[:3]) + (f"; and {len(labels) - 3} more" if len(labels) > 3 else "")
            echo(f"  {len(labels)} computed, {reason}: {shown}", err=True)


def _timings(summary) -> None:
    total = sum(summary.timings.values())
    for stage, seconds in summary.timings.items():
        echo(f"{stage:>22}  {seconds:7.2f} s  {100 * seconds / max(total, 1e-9):5.1f} %", err=True)
    from .build import study_stages

    stages = study_stages(summary.tasks)
    for study_id, execution in summary.executions.items():
        computing, analysis = stages.get(study_id, (0.0, 0.0))
        echo(f"{'  ' + study_id:>22}  {execution.seconds:7.2f} s  (beside the others; its units: training or "
             f"sampling {computing:.2f} s, analysis and figures {analysis:.2f} s)", err=True)
    echo(f"{'total':>22}  {total:7.2f} s", err=True)
    by_worker: dict[str, list[float]] = {}
    for task in summary.tasks:
        by_worker.setdefault(task.worker, []).append(task.seconds)
    for worker, seconds in sorted(by_worker.items()):
        echo(f"{'tasks':>22}  {sum(seconds):7.2f} s  {len(seconds)} on {worker}", err=True)
    if summary.kernel:
        echo(f"{'gradients':>22}  {summary.kernel}", err=True)


@main.command(name="list")
@DEFINITIONS
def list_studies(definitions: Path) -> None:
    """Show each study: id, kind, title and the number of runs its sweep expands to."""
    from .spec import load_course

    course = load_course(definitions)
    rows = [(s.id, s.kind, str(s.n_runs), s.title) for s in course.studies]
    widths = [max(len(r[i]) for r in rows + [("id", "kind", "runs", "title")]) for i in range(3)]
    echo(f"{'id':<{widths[0]}}  {'kind':<{widths[1]}}  {'runs':>{widths[2]}}  title")
    for study_id, kind, runs, title in rows:
        echo(f"{study_id:<{widths[0]}}  {kind:<{widths[1]}}  {runs:>{widths[2]}}  {title}")


@main.command()
@DEFINITIONS
@TEMPLATES
@with_limits
def validate(definitions: Path, templates: tuple[Path, ...], max_runs: int | None, max_memory_mb: int | None,
             max_file_kb: int | None) -> None:
    """Check every definition file and every template the report includes (in every language), and render the
    report with stand-ins for its results, without running anything."""
    from .build import check_course_templates, template_folders
    from .spec import load_course

    course = load_course(definitions, limits=_limits(max_runs, max_memory_mb, max_file_kb))
    check_course_templates(course, template_folders(course, templates), tuple(LANGUAGES))
    runs = sum(s.n_runs for s in course.studies)
    where = definitions if definitions.name else Path(definitions.resolve().name)  # "." says nothing
    echo(f"{where}: {len(course.studies)} studies, {runs} runs: all definitions and templates are valid")


@main.command()
@STORE_DEFINITIONS
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("build"), show_default=True,
              help="Output folder to remove.")
@click.option("--cache", "remove_cache", is_flag=True, help="Remove the result store too.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help=f"Result store to remove {CACHE_DEFAULT}.")
def clean(definitions: Path | None, out: Path, remove_cache: bool, cache_dir: Path | None) -> None:
    """Remove the outputs reportgen wrote (and, with --cache, the result store).

    An output goes only if the folder's manifest lists it with the hash it
    still has; anything else stays, and clean says so. The store goes only
    if it carries reportgen's marker file.
    """
    from .build import default_cache
    from .clean import check_store, clean_outputs, remove_store

    store = (cache_dir or default_cache(definitions)) if remove_cache else None
    if store is not None:
        check_store(store)  # refuse before touching anything
    for line in clean_outputs(out):
        echo(line)
    if store is not None:
        remove_store(store)


@main.group()
def translations() -> None:
    """The report's words in other languages: gettext catalogues (locale/<lang>/LC_MESSAGES/messages.po)."""


TRANSLATED = [code for code in LANGUAGES if code != "en"]

_CATALOGUE_FOLDER = click.option(
    "--templates", "folder", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
    help="A templates folder of yours (its locale/ is read and written); default: the built-in templates.")
_CATALOGUE_CODE = click.option(
    "--code", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
    help="With --templates: Python code whose _() and ngettext() messages belong to that folder's catalogue "
         "(a plug-in kind's package).")
_CATALOGUE_LANGS = click.option("--lang", "languages", multiple=True, type=click.Choice(TRANSLATED),
                                help="Language (repeatable; default: every one reportgen writes but English).")


def _catalogue_sources(folder: Path | None, code: Path | None) -> tuple[Path, Path | None, Path, bool]:
    """The templates and code whose messages are extracted, the locale folder, and whether it is the built-in
    catalogue, for ``folder`` (and ``code``) or the built-ins."""
    from .catalogues import builtin_locale, locale_folder
    from .discover import builtin_templates

    if folder is None:
        if code is not None:
            raise BadInputError("--code: goes with --templates (the built-in catalogue extracts reportgen's own code)")
        return builtin_templates(), Path(__file__).resolve().parent, builtin_locale(), True
    return folder, code, locale_folder(folder), False


@translations.command(name="status")
@_CATALOGUE_FOLDER
@_CATALOGUE_CODE
@_CATALOGUE_LANGS
def translations_status(folder: Path | None, code: Path | None, languages: tuple[str, ...]) -> None:
    """Count the messages each language translates, marks fuzzy, or lacks; exit 1 unless all are translated."""
    from .catalogues import extract, own_messages, po_path, status

    templates, code, locale, builtin = _catalogue_sources(folder, code)
    found = [status(extract(templates, code) if builtin else own_messages(extract(templates, code), lang),
                    po_path(locale, lang), lang) for lang in languages or TRANSLATED]
    for entry in found:
        echo(entry.line())
    if not all(entry.complete for entry in found):
        raise click.exceptions.Exit(1)


@translations.command(name="update")
@_CATALOGUE_FOLDER
@_CATALOGUE_CODE
@_CATALOGUE_LANGS
def translations_update(folder: Path | None, code: Path | None, languages: tuple[str, ...]) -> None:
    """Extract the messages anew into locale/messages.pot and bring each language's .po up to date: a message
    whose English changed is marked fuzzy (and shows in English until a translator checks it)."""
    from .catalogues import update

    templates, code, locale, builtin = _catalogue_sources(folder, code)
    for entry in update(templates, code, locale, languages or tuple(TRANSLATED), builtin):
        echo(entry.line())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
