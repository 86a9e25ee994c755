"""A stranger's course, plug-in or environment cannot fake success, hang, flood the machine or drive the terminal:
each is refused in one line before any work (exit 2), or fails the build in one line (exit 1), or stops at once."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reportgen.progress import Reporter

from .conftest import COURSE as SLOW_COURSE
from .conftest import REPORTGEN, SLOW_STUDY, TINY_COURSE, one_line, run_reportgen, write_files
from .support import course_using, fake_distribution

REFUSAL_TIMEOUT = 60
"""Seconds a refusal may take; the slow course trains for far longer than this."""
ESCAPES = ("\x1b", "\x07", "\x9b", "\u202e")
"""Raw characters that must never reach the terminal from a course's text."""


@pytest.fixture
def slow_course(tmp_path) -> Path:
    """A one-study course whose training would take minutes."""
    return write_files(tmp_path / "course", {"course.toml": SLOW_COURSE, "overfitting.toml": SLOW_STUDY})


def clean_env(**changes: str) -> dict[str, str]:
    """This environment less the variables these tests set and Dask's TLS settings, plus ``changes``."""
    kept = {k: v for k, v in os.environ.items()
            if k not in ("DASK_SCHEDULER_ADDRESS", "SOURCE_DATE_EPOCH", "REPORTGEN_KERNEL")
            and not k.startswith("DASK_DISTRIBUTED__COMM__TLS")}
    return kept | changes


# --------------------------------------------------------------------------- plug-ins cannot fake success


QUITTER = '''
import sys
from typing import Literal

from reportgen.plugin import Kind
from reportgen.studies.prior_sampling import PriorOutcome, PriorStudyFile


class QuitterFile(PriorStudyFile):
    kind: Literal["quitter"]


def leave(*args):
    sys.exit(0)


WHERE = {where!r}
KIND = Kind(name="quitter", schema=QuitterFile, outcome=PriorOutcome, template="studies/prior.html.j2",
            run="brokenkind:leave" if WHERE == "unit" else "reportgen.studies.prior_draws:sample",
            analysis="brokenkind:leave" if WHERE == "analyze" else "reportgen.studies.prior_analysis:analyze")
'''


def test_a_kind_that_calls_sys_exit_on_import_is_bad_input_naming_it_and_writes_nothing(tmp_path):
    env = fake_distribution(tmp_path / "site", "import sys\nsys.exit(0)\n")
    out = tmp_path / "out"
    result = run_reportgen("build", "--definitions", course_using(tmp_path, "broken"), "--out", out, env=env,
                           timeout=REFUSAL_TIMEOUT)
    assert one_line(result, 2) == ("Error: study kind 'broken' cannot be loaded (plug-in brokenkind, entry point "
                                   "broken = brokenkind:KIND): importing it called sys.exit(0)")
    assert not out.exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("where, culprit", [("analyze", "study kind 'quitter': analyze"),
                                            ("unit", "study kind 'quitter': brokenkind:leave")])
def test_a_kind_whose_code_calls_sys_exit_while_building_fails_the_build_and_writes_nothing(tmp_path, jobs, where,
                                                                                             culprit):
    env = fake_distribution(tmp_path / "site", QUITTER.format(where=where), "quitter = brokenkind:KIND")
    course = write_files(tmp_path / "c", {"course.toml": 'title = "T"\nstudies = ["s"]\n',
                                          "s.toml": TINY_COURSE["prior.toml"].replace('"prior"', '"quitter"')})
    out = tmp_path / "out"
    result = run_reportgen("build", "--definitions", course, "--out", out, "--no-cache", "--jobs", jobs, "--quiet",
                           env=env, timeout=300)
    assert one_line(result, 1) == f"Error: {culprit} called sys.exit(0)"
    assert not out.exists()


# --------------------------------------------------------------------------- bounded work, prompt Ctrl-C


def test_jobs_beyond_four_per_core_are_refused_in_one_line(slow_course, tmp_path):
    cores = os.cpu_count() or 1
    result = run_reportgen("build", "--definitions", slow_course, "--out", tmp_path / "out", "--jobs", "100000",
                           timeout=REFUSAL_TIMEOUT)
    assert one_line(result, 2) == (f"Error: --jobs 100000: at most {4 * cores} on this machine "
                                   f"(4 × its {cores} core{'s' if cores > 1 else ''})")


LONG_CHUNKS = {
    "course.toml": 'title = "Long chunks"\nstudies = ["capacity"]\n',
    "capacity.toml": 'kind = "capacity"\ntitle = "C"\n[model]\nkind = "mlp"\n[train]\nsteps = 1000000\n'
                     '[sweep]\n"model.width" = [400, 500]\n',
}
"""Two runs, one chunk per worker, each training for most of a minute."""


def _group(leader: int) -> list[str]:
    """The live (not zombie) processes of process group ``leader``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == leader and state != "Z":
            found.append(entry.name)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c", "kill-int"])
def test_ctrl_c_while_training_ends_the_build_and_its_workers_at_once_in_one_line(tmp_path, to_group):
    course, out = write_files(tmp_path / "course", LONG_CHUNKS), tmp_path / "out"
    build = subprocess.Popen([*REPORTGEN, "build", "--definitions", str(course),
                              "--out", str(out), "--no-cache", "--jobs", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(_group(build.pid)) < 3 and time.monotonic() < deadline:  # the client and its two workers
            time.sleep(0.1)
        time.sleep(2)  # well into the chunks
        assert build.poll() is None, build.communicate()
        # Ctrl-C signals the whole foreground group; kill -INT (a supervisor, a CI runner) the build alone.
        (os.killpg if to_group else os.kill)(build.pid, signal.SIGINT)
        pressed = time.monotonic()
        _, stderr = build.communicate(timeout=30)
        seconds = time.monotonic() - pressed
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert seconds < 5
    assert build.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["Error: build interrupted (Ctrl-C)"]
    assert _group(build.pid) == []
    assert not out.exists()


# --------------------------------------------------------------------------- scheduler addresses


@pytest.mark.parametrize("address, problem", [
    ("udp://x:1", "a Dask scheduler is reached by tcp://, tls://, ws:// or wss://HOST:PORT, not udp://"),
    ("http://x", "a Dask scheduler is reached by tcp://, tls://, ws:// or wss://HOST:PORT, not http://"),
    ("inproc://x", "a Dask scheduler is reached by tcp://, tls://, ws:// or wss://HOST:PORT, not inproc://"),
    ("foo", "expected tcp://HOST:PORT, with a port from 1 to 65535"),
    ("tcp://:8786", "expected tcp://HOST:PORT, with a port from 1 to 65535"),
    ("tcp://127.0.0.1:99999", "expected tcp://HOST:PORT, with a port from 1 to 65535"),
])
def test_a_scheduler_address_no_build_can_reach_is_refused_at_once_naming_the_schemes(slow_course, tmp_path,
                                                                                      address, problem):
    start = time.monotonic()
    result = run_reportgen("build", "--definitions", slow_course, "--out", tmp_path / "out", "--scheduler", address,
                           env=clean_env(), timeout=REFUSAL_TIMEOUT)
    assert one_line(result, 2) == f"Error: --scheduler {address}: {problem}"
    assert time.monotonic() - start < 8  # no connect timeout waited out
    assert sorted(tmp_path.iterdir()) == [slow_course]


def test_tls_without_certificates_in_dasks_configuration_is_refused_saying_where_they_go(slow_course, tmp_path):
    result = run_reportgen("build", "--definitions", slow_course, "--out", tmp_path / "out",
                           env=clean_env(DASK_SCHEDULER_ADDRESS="tls://127.0.0.1:8786"), timeout=REFUSAL_TIMEOUT)
    line = one_line(result, 2)
    assert line.startswith("Error: --scheduler tls://127.0.0.1:8786: TLS needs the cluster's CA certificate and a "
                           "client certificate and key in Dask's configuration: distributed.comm.tls.ca-file")
    assert "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT" in line


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and its key: the cluster's CA, and every role's certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=reportgen-test"], check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("scheme", ["tls", "wss"])
def test_an_encrypted_scheduler_is_reached_with_the_certificates_of_dasks_configuration(certificate, tmp_path,
                                                                                        scheme):
    from distributed import LocalCluster
    from distributed.security import Security

    cert, key = map(str, certificate)
    roles = {f"tls_{role}_{part}": path for role in ("scheduler", "worker", "client")
             for part, path in (("cert", cert), ("key", key))}
    course = write_files(tmp_path / "c", {"course.toml": 'title = "T"\nstudies = ["prior"]\n',
                                          "prior.toml": TINY_COURSE["prior.toml"]})
    env = clean_env(DASK_DISTRIBUTED__COMM__TLS__CA_FILE=cert, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT=cert,
                    DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY=key)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol=f"{scheme}://", host="127.0.0.1",
                      dashboard_address=":0", security=Security(tls_ca_file=cert, require_encryption=True, **roles)) \
            as cluster:
        assert cluster.scheduler_address.startswith(f"{scheme}://")
        result = run_reportgen("build", "--definitions", course, "--out", tmp_path / "out", "--no-cache", "--quiet",
                               "--scheduler", cluster.scheduler_address, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "results.json").exists()


# --------------------------------------------------------------------------- bad environment values


EPOCH = "SOURCE_DATE_EPOCH: expected a whole number of seconds since 1970, got "


@pytest.mark.parametrize("variable, value, args, message", [
    ("SOURCE_DATE_EPOCH", "yesterday", (), EPOCH + "'yesterday'"),
    ("SOURCE_DATE_EPOCH", "-86400", (), EPOCH + "'-86400'"),
    ("SOURCE_DATE_EPOCH", "9" * 30, (), EPOCH + repr("9" * 30)),
    ("REPORTGEN_KERNEL", "foo", (), "REPORTGEN_KERNEL: expected c or torch, got 'foo'"),
    ("DASK_SCHEDULER_ADDRESS", "garbage", (),
     "DASK_SCHEDULER_ADDRESS=garbage: expected tcp://HOST:PORT, with a port from 1 to 65535"),
    ("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "soon", ("--scheduler", "tcp://127.0.0.1:1"),
     "Dask's distributed.comm.timeouts.connect: expected a duration such as 10s, got 'soon'"),
])
def test_a_bad_environment_value_is_refused_in_one_line_before_any_work(slow_course, tmp_path, variable, value, args,
                                                                        message):
    out, cache = tmp_path / "out", tmp_path / "cache"
    result = run_reportgen("build", "--definitions", slow_course, "--out", out, "--cache", cache, *args,
                           env=clean_env(**{variable: value}), timeout=REFUSAL_TIMEOUT)
    assert one_line(result, 2) == f"Error: {message}"
    assert not out.exists() and not cache.exists()


# --------------------------------------------------------------------------- a course's text on the terminal


def test_control_characters_from_a_definition_reach_the_terminal_escaped(tmp_path):
    study = TINY_COURSE["prior.toml"].replace('title = "Prior"', 'title = "P\\u001b]0;owned\\u0007\\u202e\\u009b"')
    listing = 'studies = ["x\\u001b[2J\\u001b]0;owned\\u0007"]'
    course = write_files(tmp_path / "c", {"course.toml": f'title = "T"\n{listing}\n', "prior.toml": study})
    refused = run_reportgen("validate", "--definitions", course, timeout=REFUSAL_TIMEOUT)
    assert one_line(refused, 2).endswith("no file x\\x1b[2J\\x1b]0;owned\\x07.toml")
    (course / "course.toml").write_text('title = "T"\nstudies = ["prior"]\n')
    listed = run_reportgen("list", "--definitions", course, timeout=REFUSAL_TIMEOUT)
    assert listed.returncode == 0, listed.stderr
    assert "P\\x1b]0;owned\\x07\\u202e\\x9b" in listed.stdout
    assert not any(raw in refused.stderr + listed.stdout + listed.stderr for raw in ESCAPES)


def test_progress_lines_escape_control_characters():
    stream = io.StringIO()
    Reporter("lines", stream).line("wrote r\x1b[2J\u2066.html")
    assert stream.getvalue() == "wrote r\\x1b[2J\\u2066.html\n"


# --------------------------------------------------------------------------- study ids


@pytest.mark.parametrize("study_id", ["a b", "a.b", "-x", "a'b", "a<b&c", "x" * 65])
def test_a_study_id_that_would_fail_after_training_is_refused_in_validation(tmp_path, study_id):
    course = write_files(tmp_path / "c", {"course.toml": f'title = "T"\nstudies = ["{study_id}"]\n',
                                          f"{study_id}.toml": TINY_COURSE["prior.toml"]})
    result = run_reportgen("validate", "--definitions", course, timeout=REFUSAL_TIMEOUT)
    assert one_line(result, 2).endswith(f'.toml: the file\'s name is the study\'s id, "{study_id}": expected at most '
                                        "64 letters, digits, '_' and '-', not starting with '-'")


def test_a_study_id_of_letters_in_any_script_digits_and_dashes_is_valid(tmp_path):
    course = write_files(tmp_path / "c", {"course.toml": 'title = "T"\nstudies = ["étude_1-b"]\n',
                                          "étude_1-b.toml": TINY_COURSE["prior.toml"]})
    result = run_reportgen("validate", "--definitions", course, timeout=REFUSAL_TIMEOUT)
    assert result.returncode == 0, result.stderr
