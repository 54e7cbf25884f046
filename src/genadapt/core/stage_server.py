"""Start-up paid once: a warm process that has imported torch, mlflow and the rest forks each DVC stage.

Every stage process pays seconds of imports (torch, torchvision, mlflow, pandas, scikit-learn)
before it does any work, and ``dvc repro`` starts one process per stage. Under DVC the first stage
starts this server in the background and runs itself as usual; every later stage hands its
command line, environment, working directory, ``sys.path`` and stdin/stdout/stderr to the server
over a Unix socket, and the server forks a child that runs the stage script with exactly those.
The stage process waits, forwards SIGINT/SIGTERM/SIGHUP, and exits with the child's status; if it
is killed, the child kills itself at once (it watches the connection), so an interrupted stage
stays interrupted.

The server imports third-party libraries only. A child drops every ``genadapt`` module before it
runs, so it imports this project's code from the working tree as a fresh process would; the
socket's name hashes the interpreter, the environment variables read at import time and this
file, so a changed set-up never reuses an old server. The server exits after ``IDLE_SECONDS``
without a running stage. ``GENADAPT_STAGE_SERVER=0`` turns it off.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWITCH = "GENADAPT_STAGE_SERVER"  # "0": every stage imports for itself
STAGE_PID = "GENADAPT_STAGE_PID"  # in a served child: the pid of the stage process DVC started
FOLDER = "GENADAPT_STAGE_SERVER_DIR"  # where the socket lies (default: the system's temporary folder)
IDLE_SECONDS = 60.0  # a server with no running stage for this long exits
# What the stages import (the server holds these so a child does not pay for them): pyplot (~0.9 s,
# every stage that draws) and MLflow's SQL store (~0.7 s, every stage that logs) are imported lazily by
# their users, so they are named here.
PRELOAD = ("numpy", "torch", "torchvision", "pandas", "mlflow", "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store",
           "pydantic", "yaml", "PIL.Image", "matplotlib.pyplot", "safetensors.torch", "sklearn.manifold", "scipy.linalg")
# Read by libraries when they are imported (thread pools, devices): a server serves only the same values.
IMPORT_TIME_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTORCH_CUDA_ALLOC_CONF",
                   "MLFLOW_TRACKING_URI", "PYTHONHASHSEED", "VIRTUAL_ENV")
_LENGTH = struct.Struct("!I")


def enabled() -> bool:
    """Serve only stages that DVC runs, one process each (not torchrun workers, not the server's own children)."""
    return (os.environ.get(SWITCH, "1") != "0" and "DVC_STAGE" in os.environ and "LOCAL_RANK" not in os.environ
            and sys.platform.startswith("linux") and hasattr(socket, "send_fds"))


def socket_path() -> Path:
    key = {"python": sys.executable, "version": sys.version, "server": Path(__file__).read_bytes().hex(),
           "env": {name: os.environ.get(name) for name in IMPORT_TIME_ENV}}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(os.environ.get(FOLDER) or tempfile.gettempdir()) / f"genadapt-{os.getuid()}-{digest}.sock"
    return path if len(str(path)) < 100 else Path("/tmp") / path.name  # a Unix socket's path has at most 107 bytes


# --- the stage's side -------------------------------------------------------------------------

def delegate() -> int | None:
    """Run this stage in the server's child and return its exit status, or None when no server
    answers (one is then started for the next stages, and the caller runs the stage itself)."""
    path = socket_path()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        _start_server(path)
        return None
    env = {**os.environ, STAGE_PID: str(os.getpid())}
    request = json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "env": env, "path": sys.path}).encode()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    socket.send_fds(conn, [_LENGTH.pack(len(request)) + request], [0, 1, 2])
    reader = conn.makefile("r")
    line = reader.readline()
    if not line.startswith("pid "):
        return None  # the server went away before forking: run here
    child = int(line.split()[1])

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    line = reader.readline()
    if not line.startswith("exit "):
        print("error: the stage server ended before the stage did", file=sys.stderr)
        return 1
    code = int(line.split()[1])
    if code < 0:  # the child died of a signal: so does this process, as a plain stage process would
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def _start_server(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.Popen([sys.executable, "-m", "genadapt.core.stage_server", str(path)], env=env, start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)


# --- the server's side ------------------------------------------------------------------------

def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    while len(data) < _LENGTH.size or len(data) < _LENGTH.size + _LENGTH.unpack_from(data)[0]:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("request cut short")
        data += chunk
    return json.loads(data[_LENGTH.size:]), list(fds)


def _run_child(listener: socket.socket, conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the stage process the request describes, run its script, exit."""
    import runpy
    import threading

    listener.close()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    for target, fd in enumerate(fds):  # the stage's stdin, stdout, stderr
        os.dup2(fd, target)
        os.close(fd)

    def die_with_the_stage():  # the stage process closed the connection: it was killed
        try:
            while conn.recv(1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=die_with_the_stage, daemon=True).start()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ[SWITCH] = "0"  # this child runs the stage itself
    sys.path[:] = request["path"]
    sys.argv[:] = request["argv"]
    for name in [m for m in sys.modules if m == "genadapt" or m.startswith("genadapt.")]:
        del sys.modules[name]  # this project's code is imported afresh from the working tree
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _finalize()
    os._exit(code)


def _finalize() -> None:
    """What the interpreter does at exit (join non-daemon threads, atexit handlers, flush), without
    unwinding into the server's loop."""
    import atexit
    import threading

    try:
        threading._shutdown()  # the interpreter's own join of non-daemon threads at exit
    except Exception:
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def serve(path: Path) -> None:
    import importlib

    lock = open(f"{path}.lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one server binds at a time; a live one keeps its socket
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if probe.connect_ex(str(path)) == 0:
        return  # another server is already answering
    path.unlink(missing_ok=True)  # a dead server's socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # who serves this socket
    lock.flush()
    fcntl.flock(lock, fcntl.LOCK_UN)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    children: dict[int, socket.socket] = {}
    idle_since = time.monotonic()
    try:
        while children or time.monotonic() - idle_since < IDLE_SECONDS:
            ready, _, _ = select.select([listener], [], [], 0.2)
            if ready:
                conn, _ = listener.accept()
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError, ConnectionError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _run_child(listener, conn, request, fds)
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                conn.sendall(f"pid {pid}\n".encode())
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                conn = children.pop(pid, None)
                if conn is not None:
                    try:
                        conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                    except OSError:
                        pass
                    conn.close()
                if not children:
                    idle_since = time.monotonic()
    finally:
        if path.exists() and path.is_socket():
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
