"""Start a run in a subprocess and SIGKILL it as soon as it has saved a job: the resume tests' shared helper."""
import signal
import subprocess
import time

TIMEOUT = 300  # seconds; generous, for a loaded two-core machine


def kill_after_first_job(command: list, out, stderr) -> subprocess.Popen:
    """Run ``command`` (writing into ``out``) and SIGKILL it once ``out/jobs`` holds a finished job.

    ``stderr`` should be a file, not a pipe: a full pipe would stall the child.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + TIMEOUT
    while not list((out / "jobs").glob("*.json")):
        assert process.poll() is None, f"the run ended before saving a job (status {process.returncode})"
        assert time.monotonic() < deadline, "no job was saved"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT)
    return process
