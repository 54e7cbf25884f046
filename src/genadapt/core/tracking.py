"""MLflow tracking: one store under ``mlruns/``, one run per trained model per pipeline execution.

The store is ``sqlite:///<root>/mlruns/mlflow.db`` with artifacts in ``<root>/mlruns/artifacts``,
where ``<root>`` is the repository DVC runs the pipeline for. ``dvc exp run --temp`` and
``--queue`` execute in a copy under ``.dvc/tmp/exps`` but export ``DVC_ROOT`` pointing at the
original repository, so every execution logs into the same store. ``MLFLOW_TRACKING_URI``
overrides the store.

A train stage creates the model's run (:func:`start_model_run`) and writes its id into its
outputs; generate and evaluate log into that same run (:func:`model_run`), so the MLflow UI
shows params, curves, images and final metrics of each model side by side.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import time
from pathlib import Path

from genadapt.core.errors import PipelineError
from genadapt.core.params import Params, flatten
from genadapt.core.stage_server import STAGE_PID

RUN_FILE = "mlflow_run.json"  # written into each train stage's output folder


def project_root() -> Path:
    """The repository the pipeline runs for (the original one, also under ``dvc exp run``)."""
    return Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store = project_root() / "mlruns"
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


_initialised_stores: set[str] = set()


def _client():
    # Alembic logs every schema migration at INFO when the SQLite store is first created.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    if not uri.startswith("sqlite:///") or uri in _initialised_stores:
        return MlflowClient(tracking_uri=uri)
    # Parallel queue workers on a fresh store would race to create its schema (a migration fails):
    # each process opens the store the first time under an exclusive file lock.
    import fcntl

    with open(f"{uri.removeprefix('sqlite:///')}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    _initialised_stores.add(uri)
    return client


def _experiment_id(client, name: str) -> str:
    """The experiment's id, creating it if needed; safe when parallel workers race to create it."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        artifacts = (project_root() / "mlruns" / "artifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id  # another worker created it first


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pipeline_execution() -> str | None:
    """An id shared by every stage process of one `dvc repro` / `dvc exp run`: the pid and start
    time of the nearest ``dvc`` ancestor process (Linux /proc); None when not run by DVC. The walk
    starts at the process DVC started, which is the stage server's client when the stage runs in
    the server's child (core/stage_server.py)."""
    pid = int(os.environ.get(STAGE_PID, os.getpid()))
    try:
        for _ in range(9):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if any(Path(part.decode(errors="replace")).name == "dvc" for part in cmdline[:2]):
                return f"{pid}.{fields[19]}"  # starttime: unique with the pid until reboot
            pid = int(fields[1])
            if pid <= 1:
                return None
    except (OSError, ValueError, IndexError):
        return None
    return None


def _run_tags(stage: str, model: str | None) -> dict[str, str]:
    tags = {"stage": stage, "git_commit": _git_commit()}
    execution = pipeline_execution()
    if execution:
        tags["pipeline.execution"] = execution  # one `dvc repro` = one filter in the MLflow UI
    if model:
        tags["model"] = model
    exp_name = os.environ.get("DVC_EXP_NAME")
    if exp_name:
        tags["dvc_exp_name"] = exp_name
    return tags


def _log_params(client, run_id: str, flat: dict[str, object]) -> None:
    from mlflow.entities import Param

    items = [Param(k, str(v)) for k, v in flat.items()]
    for start in range(0, len(items), 100):  # MLflow accepts at most 100 params per batch
        client.log_batch(run_id, params=items[start:start + 100])


def start_model_run(params: Params, model: str, run_params: dict[str, object], run_name: str | None = None,
                    tags: dict[str, str] | None = None) -> str:
    """Create the MLflow run of one trained model; returns its run id.

    ``run_params`` are logged as MLflow params (flat ``section.key`` names, so runs compare).
    """
    client = _client()
    experiment_id = _experiment_id(client, params.tracking.experiment)
    run = client.create_run(experiment_id, run_name=run_name or model, tags={**_run_tags("train", model), **(tags or {})})
    _log_params(client, run.info.run_id, {"seed": params.seed, **run_params})
    return run.info.run_id


def dvc_hash(path: Path) -> str | None:
    """The DVC hash (``md5``) that dvc.lock records for ``path`` as a stage output, if any."""
    import yaml

    lock = project_root() / "dvc.lock"
    if Path.cwd().resolve() != project_root():
        lock = Path.cwd() / "dvc.lock"  # an experiment runs in a copy whose dvc.lock is the current one
    if not lock.exists():
        return None
    wanted = Path(path).as_posix().rstrip("/")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: a default run's dvc.lock in ~0.04 s instead of ~0.3 s
    for stage in (yaml.load(lock.read_text(), Loader=loader) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path", "").rstrip("/") == wanted:
                return out.get("md5")
    return None


def log_data_inputs(run: ModelRun, datasets: dict[str, Path]) -> None:
    """Record each prepared dataset a run reads as an MLflow dataset input: digest = its DVC hash.

    ``datasets`` maps a context (training, source, target) to a prepared dataset folder."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = []
    for context, folder in datasets.items():
        meta = json.loads((Path(folder) / "meta.json").read_text())
        digest = dvc_hash(folder) or "not-in-dvc.lock"
        source = json.dumps({"path": Path(folder).as_posix(), "source": meta.get("source"), "splits": meta.get("splits")})
        dataset = Dataset(name=meta["name"], digest=digest[:36], source_type="dvc", source=source)
        inputs.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)]))
    run.client.log_inputs(run.run_id, datasets=inputs)


def write_run_file(out_dir: Path, run_id: str, model: str) -> None:
    (Path(out_dir) / RUN_FILE).write_text(json.dumps({"run_id": run_id, "model": model}) + "\n")


def read_run_id(model_dir: Path) -> str:
    path = Path(model_dir) / RUN_FILE
    if not path.exists():
        raise PipelineError(f"{path}: not found; run the model's train stage first")
    return json.loads(path.read_text())["run_id"]


class ModelRun:
    """Logging handle on an existing run: metrics, images, figures, files, tags."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.client = _client()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def log_params(self, flat: dict[str, object]) -> None:
        _log_params(self.client, self.run_id, flat)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_file(self, path: str | Path, artifact_dir: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_dir)

    def log_dir(self, path: str | Path, artifact_dir: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(path), artifact_dir)

    def log_figure(self, figure, artifact_file: str) -> None:
        self.client.log_figure(self.run_id, figure, artifact_file)

    def finish(self) -> None:
        self.client.set_terminated(self.run_id, "FINISHED")

    def fail(self, error: BaseException) -> None:
        """End the run FAILED (KILLED when interrupted), with the error as the tag ``error``."""
        message = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"[:500]
        self.client.set_tag(self.run_id, "error", message)
        self.client.set_terminated(self.run_id, "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")

    @contextlib.contextmanager
    def failing_on_error(self):
        """Any exception inside the block ends the run FAILED with the error tagged, then propagates."""
        try:
            yield self
        except BaseException as exc:
            self.fail(exc)
            raise


def resume_or_start_run(resumable_run_id: str | None, resumed_from_step: int, start) -> ModelRun:
    """The run an interrupted stage had opened (set RUNNING again and tagged ``resumed_from_step``),
    or a new one from ``start()`` (which returns its id)."""
    if not resumable_run_id:
        return ModelRun(start())
    run = ModelRun(resumable_run_id)
    run.client.update_run(resumable_run_id, status="RUNNING")
    if "error" in run.client.get_run(resumable_run_id).data.tags:  # from an earlier failed attempt
        run.client.delete_tag(resumable_run_id, "error")
    run.set_tags({"resumed_from_step": str(resumed_from_step)})
    return run


def model_run(model_dir: Path, stage: str) -> ModelRun:
    """The run a train stage recorded in ``model_dir``, tagged as reached by ``stage``."""
    run = ModelRun(read_run_id(model_dir))
    run.set_tags({f"stage.{stage}": "done"})
    return run


class MetricBuffer:
    """Collects per-step metrics and sends them to MLflow in batches every ``every`` steps.

    One ``log_batch`` call per flush keeps tracking well under 2% of a training step.
    """

    def __init__(self, run: ModelRun, every: int):
        self.run, self.every = run, every
        self._pending = []
        self._logged_until: int | None = None  # steps a killed run had logged already

    def add(self, step: int, metrics: dict[str, float]) -> None:
        if self._logged_until is None:
            # A resumed run replays the steps after its last checkpoint; MLflow has them (the same
            # values: the replay is deterministic), so they are not logged twice.
            history = self.run.client.get_metric_history(self.run.run_id, next(iter(metrics)))
            self._logged_until = max((m.step for m in history), default=0)
        if step <= self._logged_until:
            return
        now = int(time.time() * 1000)
        self._pending.extend((k, float(v), now, step) for k, v in metrics.items())
        if step % self.every == 0:
            self.flush()

    def flush(self) -> None:
        from mlflow.entities import Metric

        while self._pending:  # MLflow accepts at most 1000 metrics per batch
            chunk, self._pending = self._pending[:1000], self._pending[1000:]
            self.run.client.log_batch(self.run.run_id, metrics=[Metric(*m) for m in chunk])


def log_stage_run(params: Params, stage: str, section: str, artifacts: list[Path]) -> None:
    """A short run for a stage that trains nothing (prepare-data), in ``<experiment>-data``."""
    client = _client()
    experiment_id = _experiment_id(client, f"{params.tracking.experiment}-data")
    run = client.create_run(experiment_id, run_name=stage, tags=_run_tags(stage, None))
    node = params
    for part in section.split("."):
        node = getattr(node, part)
    _log_params(client, run.info.run_id, {"seed": params.seed, **flatten(node, section)})
    for path in artifacts:
        client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id, "FINISHED")


def log_summary_run(params: Params, name: str, metrics: dict[str, float], artifacts: list[Path]) -> None:
    """A run that trains nothing but collects results (e.g. the DANN accuracy table)."""
    client = _client()
    experiment_id = _experiment_id(client, params.tracking.experiment)
    run = client.create_run(experiment_id, run_name=name, tags=_run_tags(name, None))
    ModelRun(run.info.run_id).log_metrics(metrics)
    for path in artifacts:
        client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id, "FINISHED")
