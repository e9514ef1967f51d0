"""SIGTERM and SIGINT sent to a real `pagecore verify` process: it stops,
keeps the cells that finished, leaves no partial file and no process, says
so in one line, and exits 143 (SIGTERM) or 130 (SIGINT)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environ():
    import pagecore as pc

    where = os.path.dirname(os.path.dirname(os.path.abspath(pc.__file__)))
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=where + (os.pathsep + path if path else ""))


def sigint_default():
    """Start the child with SIGINT's default action: a shell without job control starts a
    background command (a test run started with `&` from a script) with SIGINT ignored, and
    Python, as every command, keeps it so; the command's own handling is under test here."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Proc:
    """A pagecore process whose stderr is read as it comes."""

    def __init__(self, args, cwd):
        self.p = subprocess.Popen([sys.executable, "-m", "pagecore"] + args, cwd=cwd,
                                  env=environ(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  preexec_fn=sigint_default)
        self.err = []
        self.out = []
        self._t = [threading.Thread(target=self._read, args=(self.p.stderr, self.err)),
                   threading.Thread(target=self._read, args=(self.p.stdout, self.out))]
        for t in self._t:
            t.start()

    @staticmethod
    def _read(f, into):
        for line in f:
            into.append(line)

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in ln for ln in self.err):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no %r on stderr: %s" % (text, "".join(self.err)))

    def stop(self, sig, timeout=30):
        self.p.send_signal(sig)
        t0 = time.monotonic()
        rc = self.p.wait(timeout)
        for t in self._t:
            t.join(5)
        return rc, time.monotonic() - t0


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("sig,rc,word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                         (signal.SIGINT, 130, "interrupted")])
def test_verify_stress_stopped_by_a_signal_keeps_what_finished(tmp_path, sig, rc, word):
    # four cells of 3 s: the command reports progress, so the test can wait
    # for the second cell before it sends the signal
    p = Proc(["verify", "--mode", "stress", "--seconds", "3", "--threads", "2",
              "--variant", "shipped-5.10", "folio-6.7", "--scenario", "writeback-set-again",
              "page-reuse", "--json", "v.json"], cwd=tmp_path)
    p.wait_for("[2/4]")
    code, took = p.stop(sig)
    assert code == rc, "".join(p.err)
    assert took < 10
    last = [ln for ln in p.err if ln.startswith("pagecore: ")]
    assert last == ["pagecore: verify %s: 1 of 4 cells done, kept in v.json\n" % word]
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["interrupted"] is True
    assert [(r["variant"], r["scenario"]) for r in doc["results"]] == [
        ("shipped-5.10", "writeback-set-again")]
    assert sorted(os.listdir(tmp_path)) == ["v.json"]     # no v.json.tmp
    assert gone(p.p.pid)


def test_verify_replay_stopped_by_sigterm(tmp_path):
    p = Proc(["verify", "--variant", "original", "shipped-5.10", "--json", "v.json"],
             cwd=tmp_path)
    time.sleep(3)
    code, took = p.stop(signal.SIGTERM)
    assert code == 143, "".join(p.err)
    assert took < 10
    lines = [ln for ln in p.err if ln.startswith("pagecore: ")]
    assert len(lines) == 1 and "verify terminated (SIGTERM)" in lines[0]
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["interrupted"] is True and len(doc["results"]) < 4
    assert sorted(os.listdir(tmp_path)) == ["v.json"]
    assert gone(p.p.pid)


def session_members(sid):
    """Processes in session @sid (a suite runs in one of its own)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":     # session id, not a zombie
            out.append(int(d))
    return out


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("sig,rc,word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                         (signal.SIGINT, 130, "interrupted")])
def test_bench_stopped_by_a_signal_to_its_pid_alone(tmp_path, sig, rc, word):
    # the signal goes to pagecore's pid only, not its process group: it must stop the
    # suite and the suite's workers itself, at once, and leave no partial file
    env = dict(environ(), PAGECORE_BENCH_DIR=os.path.join(ROOT, "bench"))
    p = subprocess.Popen([sys.executable, "-m", "pagecore", "bench", "--fast", "--no-verify",
                          "--no-report", "--suite", "hotpath", "-o", "results",
                          "--machine", "ci"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=sigint_default)
    suite = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not suite:
        time.sleep(0.2)
        suite = children(p.pid)
    assert suite, "no suite started"
    (sid,) = suite
    time.sleep(2.0)     # into the measurement: the suite has workers now
    assert len(session_members(sid)) >= 1
    p.send_signal(sig)
    t0 = time.monotonic()
    out, err = p.communicate(timeout=30)
    assert p.returncode == rc, err
    assert time.monotonic() - t0 < 10
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("pagecore: bench %s during hotpath" % word)
    assert "its processes stopped" in lines[0]
    time.sleep(0.2)
    assert session_members(sid) == []
    left = os.listdir(tmp_path / "results" / "ci")
    assert not [f for f in left if f.endswith(".tmp")], left
