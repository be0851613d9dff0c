"""One writer per output folder; pool workers die with their parent."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from conftest import run_cli

from genomni.outdir import exclusive


def test_a_second_writer_of_the_same_out_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "k"
    with exclusive(out):
        assert run_cli(["generate", "kubric", "--out", str(out), "--num-scenes", "1", "--frames", "2", "--resolution", "16"]) == 1
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err == f"error: {out} is being written by another genomni process; wait for it to finish or choose another --out"
        assert [p.relative_to(out).as_posix() for p in sorted(out.rglob("*"))] == [".genomni", ".genomni/lock"]
    with exclusive(out):  # released: the next writer gets it
        pass


def test_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    pidfile = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""
        import os, time
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context
        from genomni.outdir import die_with_parent

        def work(path):
            open(path, "w").write(str(os.getpid()))
            time.sleep(60)

        if __name__ == "__main__":
            with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=die_with_parent) as pool:
                pool.submit(work, {str(pidfile)!r}).result()
    """)
    (tmp_path / "parent.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")])
    deadline = time.time() + 60
    while not (pidfile.is_file() and pidfile.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    worker = int(pidfile.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError("the worker outlived its killed parent")
