"""What member code can see and do inside the sandbox."""

from __future__ import annotations

import json
import os

import pytest

from graders.notebook import Limits
from tests.notebook.conftest import WORKER_SECRET, notebook, spec_of

pytestmark = pytest.mark.slow

PROBE = r"""
import json, os, resource
writable = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys")):
        dirs[:] = []
        continue
    if os.access(root, os.W_OK):
        writable.append(root)
        dirs[:] = []
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print("FACTS " + json.dumps({
    "writable": sorted(writable),
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "data": sorted(os.listdir("data")),
    "data_writable": os.access("data", os.W_OK),
    "srv": os.listdir("/srv/data"),
    "runs": os.listdir("/run/adventures"),
    "work_main": sorted(os.listdir("/work/main")) if os.path.isdir("/work/main") else None,
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "env": dict(os.environ),
    "caps": [status["CapEff"].strip(), status["CapBnd"].strip(), status["NoNewPrivs"].strip()],
    "limits": {n: resource.getrlimit(getattr(resource, n))[0] for n in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CPU")},
}))
"""


@pytest.fixture(scope="module")
def facts(grade):
    result = grade("c3w4-ngrams", notebook(PROBE))
    text = "".join(o.get("text", "") for o in result.executed_notebook.cells[0].outputs)
    line = next(x for x in text.splitlines() if x.startswith("FACTS "))
    return json.loads(line[len("FACTS ") :])


def test_only_private_tmpfs_folders_are_writable(facts):
    assert facts["writable"] == ["/dev/shm", "/home", "/tmp"]
    assert facts["cwd"] == "/home/student/work"


AS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0, reason="a worker started as root drops to a pooled uid; this one is not root"
)


def test_the_kernel_runs_without_capabilities(facts):
    assert facts["caps"] == ["0000000000000000", "0000000000000000", "1"]


@AS_ROOT
def test_as_root_the_kernel_runs_as_an_unprivileged_pooled_uid(facts):
    assert facts["uid"] >= 62000


def test_it_is_pid_1_of_its_own_namespace(facts):
    assert facts["pids"] == [1]


def test_its_own_exercise_data_is_read_only_at_data_and_nothing_else_is_visible(facts):
    assert facts["data"] == ["sonnet.txt"] and facts["data_writable"] is False
    assert facts["srv"] == [] and facts["runs"] == []
    assert facts["work_main"] in (None, [".venv"])  # the venv only: no reference/, instance/, specs


def test_no_worker_environment_reaches_the_kernel(facts):
    env = json.dumps(facts["env"])
    assert WORKER_SECRET not in env
    assert "ADVENTURES" not in env and "DATABASE_URL" not in env
    assert facts["env"]["HOME"] == "/home/student"


def test_rlimits_are_set(facts):
    limits = facts["limits"]
    assert limits["RLIMIT_AS"] == 4 * 1024**3
    assert limits["RLIMIT_FSIZE"] == 64 * 1024**2
    assert limits["RLIMIT_NOFILE"] == 1024
    spec = spec_of("c3w4-ngrams").notebook
    run = Limits().with_spec_times(spec.time_limit, spec.cell_timeout, len(spec.checks))
    assert limits["RLIMIT_CPU"] == run.cpu_seconds()  # lowered from the spawn ceiling


@AS_ROOT
def test_as_root_the_kernel_has_a_process_limit(facts):
    assert facts["limits"]["RLIMIT_NPROC"] == 256


def test_an_exercise_without_data_gets_an_empty_read_only_data_folder(grade):
    result = grade(
        "c3w1-tokenizer",
        notebook("import os\nprint(os.listdir('data'), os.access('data', os.W_OK))"),
    )
    assert result.executed_notebook.cells[0].outputs[0]["text"] == "[] False\n"
