"""The lab notebooks: written by the build, executed in a real Jupyter kernel, matched to results.json run by run.

The tiny course is built once for the module (``--audience all --lang all``, on the session's shared result
store); each notebook is executed once, by a module fixture, in a fresh ``python3`` kernel (nbclient, ipykernel).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema
import nbformat
import pytest
from nbclient import NotebookClient

from reportgen.labcode import COMMENTS

from .conftest import result_store, run_reportgen, write_course

NOTEBOOKS = ("lab.ipynb", "lab-solutions.ipynb", "lab.es.ipynb", "lab-solutions.es.ipynb")
ONE_AT_A_TIME = 1e-6
"""The README's agreement of one-at-a-time training with the batched trainer over the first 100 steps (the tiny
course trains 40 and 60 steps): relative, on every metric of every run."""

# nbgrader's cell metadata schema, version 3 (nbgrader/nbgraderformat/v3.json), as nbgrader validates it.
NBGRADER_V3 = {
    "type": "object",
    "properties": {
        "schema_version": {"type": "integer", "minimum": 3, "maximum": 3},
        "grade": {"type": "boolean"},
        "locked": {"type": "boolean"},
        "solution": {"type": "boolean"},
        "task": {"type": "boolean"},
        "grade_id": {"type": "string", "pattern": "^[a-zA-Z0-9_\\-]*$"},
        "points": {"type": "number", "minimum": 0},
        "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
        "cell_type": {"type": "string", "enum": ["raw", "code", "markdown"]},
    },
    "required": ["schema_version", "grade", "locked", "solution"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The tiny course built once with --audience all --lang all: its output folder and definitions."""
    root = tmp_path_factory.mktemp("lab")
    definitions = write_course(root / "experiments")
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--audience", "all",
                           "--lang", "all", "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    return {"root": root, "out": root / "build", "definitions": definitions}


def read(out: Path, name: str):
    """A written notebook, validated against nbformat's v4 schema."""
    notebook = nbformat.read(out / name, as_version=4)
    nbformat.validate(notebook)
    return notebook


def execute(notebook, last_line: str) -> str:
    """Run ``notebook`` top to bottom in a fresh python3 kernel, then ``last_line``; what that printed."""
    notebook.cells.append(nbformat.v4.new_code_cell(last_line))
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False).execute()
    return "".join(output.get("text", "") for output in notebook.cells[-1].outputs)


@pytest.fixture(scope="module")
def solutions_results(lab):
    """``results`` of the solutions notebook, executed in a kernel."""
    printed = execute(read(lab["out"], "lab-solutions.ipynb"), "import json\nprint(json.dumps(results))")
    return json.loads(printed)


# --------------------------------------------------------------------------- written beside the report


def test_audience_all_lang_all_writes_the_four_notebooks_beside_the_report(lab):
    names = {p.name for p in lab["out"].iterdir()}
    assert set(NOTEBOOKS) <= names and {"report.html", "report-student.es.pdf"} <= names
    manifest = json.loads((lab["out"] / ".reportgen-manifest.json").read_text())
    assert set(NOTEBOOKS) <= set(manifest["outputs"])  # published with the report, described by its manifest


def test_no_notebooks_writes_none_and_a_single_study_notebook_follows_set(lab, tmp_path, tmp_path_factory):
    out = tmp_path / "handout"
    result = run_reportgen("build", "overfitting", "--audience", "student", "--definitions", lab["definitions"],
                           "--set", "overfitting.train.steps=7", "--out", out,
                           "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    student = read(out, "lab.ipynb")
    sources = [cell.source for cell in student.cells]
    assert sources[0].startswith("# Overfitting\n")  # one study: the notebook is that study's
    assert any("\nsteps = 7\n" in source for source in sources)  # --set reaches the setup cells
    assert not any("Regularization" in source or "weight_decay = 0.1" in source for source in sources)
    assert not (out / "lab-solutions.ipynb").exists()
    off = tmp_path / "off"
    result = run_reportgen("build", "overfitting", "--audience", "student", "--definitions", lab["definitions"],
                           "--no-notebooks", "--out", off, "--cache", result_store(tmp_path_factory), "--quiet")
    assert result.returncode == 0, result.stderr
    assert not list(off.glob("*.ipynb"))
    assert "lab.ipynb" not in (off / "report-student.html").read_text(encoding="utf-8")
    assert "lab.ipynb" in (out / "report-student.html").read_text(encoding="utf-8")


def test_student_build_computes_nothing_and_writes_the_same_handout_and_notebook(lab, tmp_path):
    """A build of student editions alone trains and samples nothing (its store stays empty), and writes the very
    bytes of the student edition and notebook of an --audience all build: notebooks are byte-identical across
    builds (the solutions notebook is checked so by test_build's and test_cache's determinism tests)."""
    again, store = tmp_path / "again", tmp_path / "store"
    result = run_reportgen("build", "--definitions", lab["definitions"], "--out", again, "--audience", "student",
                           "--cache", store, "--quiet")
    assert result.returncode == 0, result.stderr
    info = json.loads((again / "build-info.json").read_text())
    assert [(s["trained"], s["reused"]) for s in info["studies"]] == [(0, 0)] * 4 and info["kernel"] is None
    assert not list(store.rglob("*.npz"))
    for name in ("lab.ipynb", "report-student.html", "report-student.pdf"):
        assert (again / name).read_bytes() == (lab["out"] / name).read_bytes(), name
    cells = read(lab["out"], "lab.ipynb").cells
    assert len({cell.id for cell in cells}) == len(cells)  # fixed ids, unique, not nbformat's random ones
    assert all(re.fullmatch(r"[a-z]+-\d\d", cell.id) for cell in cells)


# --------------------------------------------------------------------------- executed in a kernel


def test_solutions_notebook_run_in_a_kernel_matches_results_json_run_by_run(lab, solutions_results):
    report = json.loads((lab["out"] / "results.json").read_text())
    compared = 0
    for study in report["studies"]:
        runs = solutions_results[study["id"]]
        assert [(r["params"], r["seed"], r["status"]) for r in runs] == \
               [(r["params"], r["seed"], r["status"]) for r in study["runs"]], study["id"]
        for mine, theirs in zip(runs, study["runs"]):
            assert set(mine["metrics"]) == set(theirs["metrics"]), (study["id"], mine["params"])
            for name, value in mine["metrics"].items():
                expected = theirs["metrics"][name]
                if value is None or expected is None or isinstance(value, bool):
                    assert value == expected, (study["id"], mine["params"], name)
                else:
                    assert math.isclose(value, expected, rel_tol=ONE_AT_A_TIME), (study["id"], mine, name)
                compared += 1
    # Every metric: 8 per trained run and those its kind adds (least squares, MAP, the data's range); the prior's 8.
    assert compared == 12 * (8 + 4) + 6 * (8 + 6) + 8 * (8 + 3) + 12 * 8


def test_solutions_notebook_computes_the_closed_forms_exactly(lab, solutions_results):
    """The least-squares and MAP solutions are NumPy's on the same float32-rounded data, and the prior's draws
    come from the same generator: the same bits (the spread's interval is summed otherwise: within rounding)."""
    report = {s["id"]: s["runs"] for s in json.loads((lab["out"] / "results.json").read_text())["studies"]}
    for study, names in (("overfitting", ["lstsq_sse", "lstsq_mse_inside", "lstsq_mse_gap"]),
                         ("regularization", ["map_train_sse", "map_norm", "map_mse_inside", "map_mse_gap"]),
                         ("prior", ["measured_std", "theory_std", "draws_std"])):
        for mine, theirs in zip(solutions_results[study], report[study]):
            assert [mine["metrics"][n] for n in names] == [theirs["metrics"][n] for n in names], study


def test_student_notebook_runs_top_to_bottom_without_error(lab):
    student = read(lab["out"], "lab.ipynb")
    todo = [cell for cell in student.cells if cell.cell_type == "code" and cell.source.startswith("# TODO")]
    assert len(todo) == 15  # one per activity: 4 + 3 + 5 + 3
    assert execute(student, "print(sorted(k for k in ('x', 'model', 'losses') if k in globals()))") == \
           "['losses', 'model', 'x']\n"


# --------------------------------------------------------------------------- what each notebook holds


def test_student_notebook_holds_no_output_result_or_solution_code(lab):
    student = read(lab["out"], "lab.ipynb")
    text = (lab["out"] / "lab.ipynb").read_text(encoding="utf-8")
    assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None
               for cell in student.cells if cell.cell_type == "code")
    for leak in ("BEGIN SOLUTION", "results[", "reproduce", "sample_at_points", "compare(", "import reportgen",
                 "from reportgen"):
        assert leak not in text, leak
    solutions = "".join(cell.source for cell in read(lab["out"], "lab-solutions.ipynb").cells
                        if cell.cell_type == "code")
    assert "BEGIN SOLUTION" in solutions and 'results["overfitting"]' in solutions
    assert "reportgen" not in solutions  # neither notebook needs reportgen to run


def test_student_notebook_has_the_setup_and_each_activity_with_a_todo_and_an_answer_cell(lab):
    cells = read(lab["out"], "lab.ipynb").cells
    setup = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    for line in ("np.random.seed(data_seed)", "removed = [9, 10, 11, 12, 13]", "f = lambda x: x * np.sin(10 * x)",
                 "test_domain = (-0.05, 1.05)", "lr = 0.01", "steps = 60", "steps = 40", "weight_std = 5.0",
                 "torch.optim.Adam(", 'MSELoss(reduction="sum")'):
        assert line in setup, line
    activities = [i for i, cell in enumerate(cells) if re.match(r"\*\*Activity \d+\.\*\*", cell.source)]
    assert len(activities) == 15
    for i in activities:
        assert cells[i + 1].cell_type == "code" and cells[i + 1].source.startswith("# TODO:")
        assert cells[i + 2].cell_type == "markdown" and cells[i + 2].source == "*Write your answer here.*"
    assert "degree = 3  # the study tries 1, 3, 12" in cells[activities[0] + 1].source
    assert any("$$y_n = f(x_n) + \\varepsilon_n" in cell.source for cell in cells)  # math as LaTeX


def test_spanish_notebook_speaks_spanish_and_keeps_the_code(lab):
    english, spanish = read(lab["out"], "lab.ipynb"), read(lab["out"], "lab.es.ipynb")
    words = "\n".join(cell.source for cell in spanish.cells if cell.cell_type == "markdown")
    for phrase in ("Ejecuta las celdas en orden", "**Actividad 1.**", "*Escribe aquí tu respuesta.*",
                   "Cambia el número de funciones base"):
        assert phrase in words, phrase
    assert "Write your answer" not in words and "Run the cells" not in words
    code = [(a.source, b.source) for a, b in zip(english.cells, spanish.cells) if a.cell_type == "code"]
    assert any("def train(" in es for _, es in code)
    # Code stays code: only the words of plot labels and comments differ.
    strip = lambda source: re.sub(r'"[^"\n]*"|#.*', "", source)  # noqa: E731
    assert [strip(en) for en, _ in code] == [strip(es) for _, es in code]
    assert any("cambia un valor aquí abajo" in es for _, es in code)
    # Comments are prose: the code cells' own comments are in Spanish too, none left in English.
    assert any("# Dentro de las entradas de entrenamiento" in es for _, es in code)
    assert not any(english_comment in es for _, es in code for english_comment in COMMENTS.values())


def test_cells_carry_nbgrader_metadata_of_schema_version_3(lab):
    for name in NOTEBOOKS:
        cells = read(lab["out"], name).cells
        seen = set()
        for cell in cells:
            meta = cell.metadata["nbgrader"]
            jsonschema.validate(meta, NBGRADER_V3)
            # nbgrader's MetadataValidatorV3 rules beyond the JSON schema.
            if meta["grade"] or meta["solution"] or meta["locked"]:
                assert meta.get("grade_id") and meta["grade_id"] not in seen, (name, cell.id)
                seen.add(meta["grade_id"])
            if meta["grade"]:
                assert "points" in meta
            if cell.cell_type == "markdown":
                assert meta["grade"] == meta["solution"], (name, cell.source[:40])
        answers = [c for c in cells if c.metadata["nbgrader"]["grade"]]
        assert len(answers) == 15 and all(c.cell_type == "markdown" and c.metadata["nbgrader"]["points"] == 1
                                          for c in answers)
        setup = [c for c in cells if c.cell_type == "code" and "def make_data" in c.source]
        assert setup and all(c.metadata["nbgrader"]["locked"] for c in setup)
        todo = [c for c in cells if c.cell_type == "code" and c.source.startswith("# TODO")]
        assert todo and not any(c.metadata["nbgrader"]["locked"] for c in todo)
    solutions = read(lab["out"], "lab-solutions.ipynb").cells
    marked = [c for c in solutions if c.cell_type == "code" and c.metadata["nbgrader"]["solution"]]
    assert len(marked) >= 3 + 2 * 4
    assert all(c.source.startswith("### BEGIN SOLUTION\n") and c.source.endswith("\n### END SOLUTION")
               for c in marked)
