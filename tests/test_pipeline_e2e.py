"""The real pipeline: `dvc repro` of the smoke preset in a fresh copy of this repository."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genadapt.metrics.inception.weights import resolve_weights

# Every test here shares the one smoke clone (a module fixture): with `--dist loadfile` one worker runs them all.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = [
    "data/prepared/faces/meta.json", "data/prepared/svhn/train_images.npy", "data/prepared/usps/test.csv",
    "models/vae/vae.safetensors", "curves/vae/vae.csv", "models/vae/mlflow_run.json",
    "generated/vae/reconstructions.png", "generated/vae/samples.png", "generated/vae/latent_tsne.png", "metrics/vae.json",
    "reports/index.html",
    "models/mnistm-usps/dann_st.safetensors", "generated/svhn-mnistm/tsne_dann.png",
    "generated/usps-svhn/tsne_source_only.png", "metrics/mnistm-usps.json",
    "models/classifiers/faces/evaluator.json", "metrics/classifiers/mnistm.json",
    "models/dcgan/generator.safetensors", "generated/dcgan/samples.png",
    "generated/acgan-faces/pairs.png", "generated/acgan-digits/class_grid.png", "generated/acgan-digits/images.csv",
    "generated/infogan/traversal_categorical.png", "generated/infogan/traversal_continuous_1.png",
    "metrics/dcgan.json", "metrics/acgan-faces.json", "metrics/acgan-digits.json", "metrics/infogan.json",
    "models/inception_reference/faces/info.json", "models/inception_weights.json",
    "data/prepared/anime/meta.json", "models/cartoon-anime/a_to_b.safetensors", "models/cycle-svhn-mnistm/b_to_a.json",
    "generated/cartoon-anime/grid_a_to_b.png", "metrics/cartoon-anime.json",
    "metrics/pixel-svhn-mnistm.json", "generated/pixel-svhn-mnistm/tsne_pixel_st.png",
]


def _smoke_params() -> dict:
    """params.yaml with presets/smoke.yaml applied: the DAG the smoke run builds."""
    import tempfile

    from genadapt.presets import apply_preset

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REPO / "params.yaml", Path(tmp) / "params.yaml")
        apply_preset(REPO / "presets" / "smoke.yaml", Path(tmp) / "params.yaml")
        return yaml.safe_load((Path(tmp) / "params.yaml").read_text())


SMOKE = _smoke_params()
GANS = list(SMOKE["models"]["gan"])  # every GAN instance
VAE_STAGES = {"train-vae@vae", "generate-vae@vae", "evaluate-vae@vae"}
GAN_STAGES = {f"{stage}-gan@{gan}" for gan in GANS for stage in ("train", "generate", "evaluate")}
DANN_PAIRS = SMOKE["models"]["adapt"]  # name -> {source, target, ...}
DANN_MODES = ["source_only", "dann", "dann_st", "target_only"]  # the family's default methods
# each pair's methods: its own list where params.yaml gives one (svhn-mnistm adds fixmatch)
PAIR_METHODS = {pair: (cfg or {}).get("methods", DANN_MODES) for pair, cfg in DANN_PAIRS.items()}
CYCLEGANS = SMOKE["models"]["cyclegan"]  # name -> {source, target, ...}
CYCLEGAN_STAGES = {f"{stage}-cyclegan@{name}" for name in CYCLEGANS for stage in ("train", "generate", "evaluate")}
PIXEL_PAIRS = SMOKE["models"]["pixel"]
PIXEL_MODES = ["pixel", "pixel_st"]
TEST_N = {name: d["n_test"] for name, d in SMOKE["data"].items()}  # each dataset's test split in the smoke run
N_GENERATE = {gan: SMOKE["models"]["gan"][gan]["n_generate"] for gan in GANS}
N_TRANSLATE = {name: cfg["n_translate"] for name, cfg in CYCLEGANS.items()}
OUTPUTS += [f"generated/dcgan/images/{N_GENERATE['dcgan'] - 1:06d}.png",
            f"generated/cycle-svhn-mnistm/b_to_a/{N_TRANSLATE['cycle-svhn-mnistm'] - 1:06d}.png"]
WEIGHTS = resolve_weights("auto", "")[0]  # the FID Inception weights the pipeline will find, if any


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def _run(args: list[str], cwd: Path, **env: str) -> str:
    out = subprocess.run(args, cwd=cwd, env={**_env(), **env}, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def _ran_stages(log: str) -> set[str]:
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage '")}


def _make_clone(dest: Path, presets: list[str]) -> Path:
    """This working tree (tracked + untracked, not ignored) as a fresh git repo with presets applied."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    _run(["git", "init", "-q"], dest)
    for preset in presets:
        _run(["env", "PYTHONPATH=src", sys.executable, "-m", "genadapt.presets", preset], dest)
    return dest


def _commit(clone: Path, message: str) -> None:
    _run(["git", "add", "-A"], clone)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], clone)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    dest = _make_clone(tmp_path_factory.mktemp("pipeline") / "repo", ["presets/smoke.yaml"])
    _commit(dest, "smoke")
    return dest


@pytest.fixture(scope="module")
def first_repro(clone) -> str:
    # Every stage process records the project files it imported (genadapt.core.cli.IMPORT_TRACE).
    return _run(["dvc", "repro"], clone, GENADAPT_IMPORT_TRACE=str(clone.parent / "import_trace"))


def _imports_by_stage(clone: Path) -> dict[str, set[str]]:
    traced: dict[str, set[str]] = {}
    for path in (clone.parent / "import_trace").glob("*.json"):
        record = json.loads(path.read_text())
        traced.setdefault(record["stage"], set()).update(record["files"])
    return traced


def _covered(file: str, deps: list[str]) -> bool:
    return any(file == dep or file.startswith(dep.rstrip("/") + "/") for dep in deps)


def _package_marker(path: Path) -> bool:
    """An ``__init__.py`` that holds a docstring and nothing else: it runs no code, so it is no stage's
    dep (one that gains code becomes one, and this test asks for it)."""
    if path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
               for node in body)


def test_every_stage_depends_on_every_project_file_it_imports(clone, first_repro):
    """The import trace of the whole smoke pipeline against each stage's deps in dvc.lock."""
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    traced = _imports_by_stage(clone)
    stages = set(_run(["dvc", "stage", "list", "--name-only"], clone).split())
    assert set(traced) == stages  # every stage ran and was traced
    for stage, files in traced.items():
        deps = [dep["path"] for dep in lock[stage]["deps"]]
        assert not {"src", "src/genadapt", "src/genadapt/families"} & set(deps), f"{stage} depends on a whole package"
        missing = sorted(f for f in files if not _covered(f, deps) and not _package_marker(clone / f))
        assert not missing, f"{stage} imports files that are not its deps: {missing}"
        unused = sorted(d for d in deps if d.startswith(("src/", "stages/")) and d.endswith(".py") and d not in files)
        assert not unused, f"{stage} depends on code it does not import: {unused}"


def test_no_stage_reads_a_test_split_before_its_choices_are_made(clone, first_repro):
    """Training stages read train and validation splits only; a stage that reports a test figure
    (evaluator classifiers, the DANN study, evaluate, the reference features) reads the test split
    only after every train/validation read, i.e. after training and choosing."""
    reads: dict[str, list[tuple[str, str]]] = {}
    for path in (clone.parent / "import_trace").glob("*.json"):
        record = json.loads(path.read_text())
        reads.setdefault(record["stage"], []).extend(map(tuple, record["split_reads"]))
    for stage in [s for s in reads if s.startswith(("train-vae@", "train-gan@", "train-cyclegan@"))]:
        assert {split for _, split in reads[stage]} <= {"train", "val"}, (stage, reads[stage])
        assert "val" in {split for _, split in reads[stage]} or stage.startswith("train-vae@")  # GANs choose on val
    for stage, sequence in reads.items():
        splits = [split for _, split in sequence]
        if "test" in splits:
            first_test = splits.index("test")
            assert all(split == "test" for split in splits[first_test:]), (stage, sequence)
    assert "val" in [s for _, s in reads["train-classifier@faces"]] and "val" in [s for _, s in reads["train-adapt@mnistm-usps"]]


def _stages_changed_by_editing(clone: Path, path: str) -> set[str]:
    def changed() -> set[str]:
        out = subprocess.run(["dvc", "status", "--json"], cwd=clone, env=_env(), capture_output=True, text=True, check=True)
        return set(json.loads(out.stdout))

    before, original = changed(), (clone / path).read_text()
    (clone / path).write_text(original + "\n# an edit\n")
    try:
        return changed() - before
    finally:
        (clone / path).write_text(original)


@pytest.mark.parametrize("path", ["src/genadapt/families/gan/kinds/acgan.py", "src/genadapt/metrics/tsne.py",
                                  "src/genadapt/families/vae/shared/params.py"])
def test_a_code_edit_reruns_exactly_the_stages_that_import_it(clone, first_repro, path):
    users = {stage for stage, files in _imports_by_stage(clone).items() if path in files}
    assert users and _stages_changed_by_editing(clone, path) == users


@pytest.mark.parametrize("family", ["gan", "vae", "cyclegan", "adapt"])
def test_editing_a_familys_report_code_reruns_the_report_only(clone, first_repro, family):
    """Stages are cut by verb: a family's report module is imported by the report stage alone, so
    editing it never retrains, regenerates or re-evaluates a model."""
    assert _stages_changed_by_editing(clone, f"src/genadapt/families/{family}/report.py") == {"report"}


def _client(clone: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")


def _vae_runs(clone: Path):
    client = _client(clone)
    experiment = client.get_experiment_by_name("genadapt")
    return client, client.search_runs([experiment.experiment_id], "tags.model = 'vae'", order_by=["start_time ASC"])


def test_repro_writes_every_output(clone, first_repro):
    expected = {"prepare-data@faces", "prepare-data@svhn", "report", "train-classifier@faces", "train-classifier@mnistm"}
    expected |= VAE_STAGES | GAN_STAGES | CYCLEGAN_STAGES | {f"train-pixel@{pair}" for pair in PIXEL_PAIRS}
    assert expected | {f"train-adapt@{pair}" for pair in DANN_PAIRS} <= _ran_stages(first_repro)
    missing = [p for p in OUTPUTS if not (clone / p).is_file()]
    assert not missing
    metrics = json.loads((clone / "metrics/vae.json").read_text())
    assert 0 < metrics["test_mse"] < 0.25 and metrics["test_n"] == TEST_N[SMOKE["models"]["vae"]["vae"]["dataset"]]
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], clone))
    assert any("test_mse" in json.dumps(v) for v in shown.values())


def test_mlflow_holds_the_vae_run(clone, first_repro):
    client, runs = _vae_runs(clone)
    assert len(runs) == 1
    run = runs[0]
    smoke = {"lr": 1e-3, "steps": 20}  # the family default and presets/smoke.yaml
    assert run.data.params["vae.lr"] == str(smoke["lr"]) and run.data.params["vae.steps"] == str(smoke["steps"])
    assert run.data.tags["model"] == "vae" and len(run.data.tags["git_commit"]) == 40
    assert run.data.tags["stage.generate"] == run.data.tags["stage.evaluate"] == "done"
    history = client.get_metric_history(run.info.run_id, "recon_mse")
    assert sorted(m.step for m in history) == list(range(1, smoke["steps"] + 1))
    assert run.data.metrics["test_mse"] == pytest.approx(json.loads((clone / "metrics/vae.json").read_text())["test_mse"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "generated")}
    assert {"generated/reconstructions.png", "generated/samples.png"} <= artifacts
    recorded = json.loads((clone / "models/vae/mlflow_run.json").read_text())["run_id"]
    assert recorded == run.info.run_id
    # Lineage: the prepared data as a dataset input whose digest is its DVC hash ...
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    faces_hash = lock["prepare-data@faces"]["outs"][0]["md5"]
    (data_input,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert (data_input.dataset.name, data_input.dataset.digest) == ("faces", faces_hash)
    assert {t.key: t.value for t in data_input.tags}["mlflow.data.context"] == "training"
    # ... and every run of this one `dvc repro` carries the same execution tag.
    experiments = [client.get_experiment_by_name(n).experiment_id for n in ("genadapt", "genadapt-data")]
    executions = {r.data.tags.get("pipeline.execution") for r in client.search_runs(experiments, max_results=1000)}
    assert len(executions) == 1 and None not in executions


def test_adaptation_outputs_and_runs(clone, first_repro):
    """Each pair's stage writes every method's target accuracy (and the pixel modes' where a translator
    is named), one MLflow run per (pair, method) holding the same figure, and its part of the report."""
    modes = PAIR_METHODS | {pair: PIXEL_MODES for pair in PIXEL_PAIRS}
    assert "fixmatch" in modes["svhn-mnistm"]
    metrics = {pair: json.loads((clone / f"metrics/{pair}.json").read_text()) for pair in modes}
    for pair, values in metrics.items():
        cfg = (DANN_PAIRS | PIXEL_PAIRS)[pair]
        assert all(0.0 <= values[mode] <= 1.0 for mode in modes[pair]) and values["target_test_n"] == TEST_N[cfg["target"]]
        assert (values["source"], values["target"]) == (cfg["source"], cfg["target"])
    client = _client(clone)
    experiment = client.get_experiment_by_name("genadapt")
    runs = [r for pair in modes for r in client.search_runs([experiment.experiment_id], f"tags.model = '{pair}'")]
    assert sorted((r.data.tags["adapt.pair"], r.data.tags["adapt.mode"]) for r in runs) == sorted(
        (pair, mode) for pair, names in modes.items() for mode in names)
    for run in runs:
        pair, mode = run.data.tags["adapt.pair"], run.data.tags["adapt.mode"]
        assert run.data.metrics["target_test_accuracy"] == pytest.approx(metrics[pair][mode])
        if pair in PIXEL_PAIRS:
            assert run.data.params[f"{pair}.translator"] == PIXEL_PAIRS[pair]["translator"]
    html = (clone / "reports/index.html").read_text()
    assert "Domain adaptation: target test accuracy per pair" in html and "(a) last step" in html
    assert all(f"{pair}: t-SNE of" in html for pair in modes)


def test_gan_runs_metrics_and_logged_model(clone, first_repro):
    import mlflow
    import torch

    client = _client(clone)
    experiment = client.get_experiment_by_name("genadapt")
    for gan in GANS:
        metrics = json.loads((clone / f"metrics/{gan}.json").read_text())
        assert metrics["fd_classifier"] >= 0 and metrics["generated_n"] == N_GENERATE[gan]
        if WEIGHTS is None:  # no weights: skipped and said so, never replaced by other numbers
            assert metrics["inception_available"] == 0 and "fid" not in metrics
        else:
            assert metrics["inception_available"] == 1 and metrics["is_available"] == int(WEIGHTS.has_logits)
            assert metrics["fid"] > 0 and metrics["kid_std"] > 0 and 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1
            real_n = TEST_N[SMOKE["models"]["gan"][gan]["dataset"]]
            assert metrics["kid_subset_size"] == min(100, N_GENERATE[gan], real_n)  # at most the smaller set's size
        runs = client.search_runs([experiment.experiment_id], f"tags.model = '{gan}'")
        assert len(runs) == 1
        run = runs[0]
        assert run.data.metrics["fd_classifier"] == pytest.approx(metrics["fd_classifier"])
        assert len(client.get_metric_history(run.info.run_id, "loss_d")) == 10
        assert run.data.tags["inception.protocol"].startswith("unavailable:" if WEIGHTS is None else "FID (pytorch-fid formula)")
        if WEIGHTS is not None:
            assert run.data.metrics["fid"] == pytest.approx(metrics["fid"]) and WEIGHTS.digest[:14] in run.data.tags["inception.protocol"]
    acgan = json.loads((clone / "metrics/acgan-digits.json").read_text())
    assert 0 <= acgan["intended_accuracy"] <= 1 and 0 <= acgan["evaluator_test_accuracy"] <= 1
    # The generator logged to MLflow loads back and samples.
    run_id = json.loads((clone / "models/dcgan/mlflow_run.json").read_text())["run_id"]
    mlflow.set_tracking_uri(f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")
    generator = mlflow.pytorch.load_model(f"runs:/{run_id}/generator")
    latent_dim = json.loads((clone / "models/dcgan/generator.json").read_text())["nz"]
    images = generator(torch.randn(2, latent_dim))
    assert images.shape == (2, 3, 64, 64) and images.abs().max() <= 1


def test_report_images_all_exist_and_decode(clone, first_repro):
    """Every <img> of the report is a PNG that decodes (embedded) or a file that exists beside it."""
    import base64
    import io
    import re

    from PIL import Image

    html = (clone / "reports/index.html").read_text()
    sources = re.findall(r"<img src='([^']*)'", html)
    figures = re.findall(r"<figcaption>([^<]*)</figcaption>", html)
    assert len(sources) == len(figures) >= 4 + 4 + 2 * len(DANN_PAIRS)  # VAE, one per GAN, t-SNE per pair
    for src in sources:
        if src.startswith("data:image/png;base64,"):
            image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
            image.load()
        else:
            image = Image.open(clone / "reports" / src)
        assert image.width > 8 and image.height > 8
    captions = " ".join(figures)
    assert "t-SNE of test-set latent means, coloured by Smiling" in captions
    for pair in [*DANN_PAIRS, *PIXEL_PAIRS]:  # source-only and DANN per pair, pixel_st per pixel-level instance
        assert len(re.findall(rf"(?:^| ){re.escape(pair)}: t-SNE of", captions)) == (1 if pair in PIXEL_PAIRS else 2), pair
    for name, domains in CYCLEGANS.items():
        assert captions.count(f"{domains['source']} -&gt; {domains['target']}: input (top row)") == 1, name  # HTML-escaped


def test_cyclegan_metrics_both_ways(clone, first_repro):
    """Each translation direction is scored with its N: content kept (translation accuracy for
    digits, attribute agreement for faces), cycle error, diversity against the real target."""
    for name, domains in CYCLEGANS.items():
        metrics = json.loads((clone / f"metrics/{name}.json").read_text())
        for direction in ("a_to_b", "b_to_a"):
            assert metrics[f"{direction}.n"] == N_TRANSLATE[name] and metrics[f"{direction}.diversity_real_n"] == N_TRANSLATE[name]
            assert 0 <= metrics[f"{direction}.cycle_mse"] <= 1 and metrics[f"{direction}.diversity_ratio"] > 0
            content = "attribute_agreement" if domains["source"] == "faces" else "translation_accuracy"
            assert 0 <= metrics[f"{direction}.{content}"] <= 1, (name, direction)
            assert metrics[f"{direction}.inception_available"] == int(WEIGHTS is not None)


def test_dvc_plots_show_renders_every_curve(clone, first_repro):
    out = clone / "plots_out"
    _run(["dvc", "plots", "show", "-o", str(out)], clone)
    page = (out / "index.html").read_text()
    # dvc.yaml plots each family's curves folder: one plot per instance file, a series per column.
    assert "vegaEmbed('#curves_vae_vae_csv'" in page and '"field": "recon_mse"' in page and '"field": "kl"' in page
    for gan in GANS:
        assert f"vegaEmbed('#curves_gan_{gan}_csv'" in page, gan
    assert '"field": "loss_d"' in page and '"field": "d_fake"' in page
    for name in CYCLEGANS:
        assert f"vegaEmbed('#curves_cyclegan_{name}_csv'" in page, name


def test_second_repro_reruns_nothing(clone, first_repro):
    # inception-weights always runs (it hashes the weights outside the repository); nothing after it reruns.
    assert _ran_stages(_run(["dvc", "repro"], clone)) == {"inception-weights"}


def test_changing_a_vae_param_reruns_only_the_vae_branch(clone, first_repro):
    params = clone / "params.yaml"
    params.write_text(params.read_text().replace("vae: {", "vae: {kl_weight: 0.5, ", 1))
    assert _ran_stages(_run(["dvc", "repro"], clone)) == VAE_STAGES | {"report", "inception-weights"}
    _, runs = _vae_runs(clone)
    assert len(runs) == 2


def test_queued_experiments_on_two_workers_log_into_a_fresh_store(clone, first_repro):
    """Two variants with `dvc exp run --queue` and `dvc queue start -j 2`, the store created by the
    racing workers themselves: each finishes, shows its metrics in `dvc exp show` and has its own
    tagged MLflow run."""
    _commit(clone, "kl 0.5")
    store = clone.parent / "queue-store"  # a fresh store, created by the workers
    store.mkdir()
    uri = f"sqlite:///{store / 'mlflow.db'}"
    lrs = ["0.002", "0.003"]
    for i, lr in enumerate(lrs):  # ++: a key left at its family default
        _run(["dvc", "exp", "run", "--queue", "-n", f"lr-{i}", "-S", f"++models.vae.vae.lr={lr}", "evaluate-vae@vae"], clone)
    _run(["dvc", "queue", "start", "-j", "2"], clone, MLFLOW_TRACKING_URI=uri)  # the workers inherit it
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = _run(["dvc", "queue", "status"], clone)
        if not any(word in status for word in ("Queued", "Running")):
            break
        time.sleep(5)
    _run(["dvc", "queue", "stop"], clone)
    assert status.count("Success") == len(lrs), status
    shown = json.loads(subprocess.run(["dvc", "exp", "show", "--json"], cwd=clone, env=_env(), capture_output=True, text=True,
                                      check=True).stdout)
    experiments = {exp["name"]: exp for rev in shown for exp in rev.get("experiments") or [] if exp.get("name")}
    for i in range(len(lrs)):
        data = experiments[f"lr-{i}"]["revs"][0]["data"]
        assert data["metrics"]["metrics/vae.json"]["data"]["test_mse"] > 0
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("genadapt").experiment_id], "tags.model = 'vae'")
    assert sorted(r.data.tags["dvc_exp_name"] for r in runs) == [f"lr-{i}" for i in range(len(lrs))]
    assert sorted(r.data.params["vae.lr"] for r in runs) == lrs
    assert all(r.info.status == "FINISHED" and "test_mse" in r.data.metrics for r in runs)
