"""Where units run: local workers start with what the client imported for them, and every unit (and the
typesetting) runs with the heap it inherited left out of garbage collections."""

from __future__ import annotations

import gc
import sys

from reportgen.executors import InProcess, LocalProcesses

from .conftest import TINY_COURSE, build_here, write_course


def loaded(name: str) -> bool:
    """Whether this process has imported module ``name`` (run on a worker)."""
    return name in sys.modules


def frozen(_: object) -> int:
    """How many objects the garbage collector leaves out here (run as a unit)."""
    return gc.get_freeze_count()


def test_local_workers_start_with_the_modules_their_units_import_and_only_those():
    assert "tabnanny" not in sys.modules and "wave" not in sys.modules  # stdlib modules nothing else imports
    with LocalProcesses(2) as plain:
        plain.start()
        assert dict(plain.map(loaded, ["tabnanny"])) == {0: False}
    with LocalProcesses(2) as preloaded:
        preloaded.start({"wave"})
        assert dict(preloaded.map(loaded, ["wave", "tabnanny"])) == {0: True, 1: False}


def test_units_run_with_the_inherited_heap_left_out_of_collections_and_the_client_gets_it_back():
    objects = len(gc.get_objects())
    with LocalProcesses(2) as workers:
        workers.start()
        assert gc.get_freeze_count() == 0
        assert dict(workers.map(frozen, [0, 1]))[0] > objects // 2
    assert dict(InProcess().map(frozen, [0]))[0] > objects // 2
    assert gc.get_freeze_count() == 0


def test_typesetting_runs_with_the_builds_heap_left_out_of_collections(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr("reportgen.pdf.render_pdf", lambda html, epoch=0: seen.append(gc.get_freeze_count()) or b"%PDF")
    prior_only = {"course.toml": 'title = "Heap"\nstudies = ["prior"]\n', "prior.toml": TINY_COURSE["prior.toml"]}
    definitions = write_course(tmp_path / "experiments", files=prior_only)
    build_here(definitions, tmp_path / "build", None)
    assert seen and seen[0] > 10_000
    assert gc.get_freeze_count() == 0


def test_a_stage_inside_another_keeps_the_heap_set_aside_until_the_outer_one_ends():
    from reportgen.heap import set_aside

    with set_aside():
        assert gc.get_freeze_count() > 0
        with set_aside():
            pass
        # Still set aside: an unfreeze empties the frozen set (objects freed since only shrink it a little).
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_editions_typeset_in_worker_processes_give_the_bytes_typeset_here_in_their_order():
    from reportgen.editions import typeset

    pages = [f"<!DOCTYPE html><html lang='en'><title>{name}</title><body><p>{name} edition</p></body></html>"
             for name in ("first", "second", "third")]
    assert typeset(pages, epoch=86_400, jobs=2) == typeset(pages, epoch=86_400, jobs=1)
    assert gc.get_freeze_count() == 0


def test_units_are_recorded_with_the_stage_their_submitter_names_and_timed_by_it(tmp_path):
    """Analysis and figures are told apart from computing runs by the record's stage, set where they are submitted,
    not by the functions' names."""
    from reportgen.build import study_stages
    from reportgen.execute import run_study
    from reportgen.executors import Stage
    from reportgen.spec import load_course

    # The prior study: its analysis leaves figures to be drawn as units of their own.
    prior_only = {"course.toml": 'title = "Stages"\nstudies = ["prior"]\n', "prior.toml": TINY_COURSE["prior.toml"]}
    (study,) = load_course(write_course(tmp_path / "experiments", files=prior_only)).studies
    executor = InProcess()
    run_study(study, None, executor=executor)
    stages = {(record.task, record.stage) for record in executor.records}
    assert {task for task, stage in stages if stage is Stage.ANALYSIS} == {"analysis_payload", "draw_figure"}
    computed = {task for task, stage in stages if stage is Stage.COMPUTE}  # the kind's own units, whatever named
    assert computed and not computed & {"analysis_payload", "draw_figure"}
    computing, analysis = study_stages(executor.records)[study.id]
    assert computing == sum(r.seconds for r in executor.records if r.stage is Stage.COMPUTE) > 0
    assert analysis == sum(r.seconds for r in executor.records if r.stage is Stage.ANALYSIS) > 0
