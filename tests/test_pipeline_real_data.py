"""The smoke preset on the real datasets in ../shared/data (when present), in its own copy of the repository."""

from __future__ import annotations

import json

import pytest
from test_pipeline_e2e import DANN_MODES, REPO, _commit, _make_clone, _ran_stages, _run

pytestmark = pytest.mark.slow

SHARED = REPO.parent / "shared" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real datasets folder {SHARED} is absent")
def test_smoke_pipeline_on_real_data(tmp_path):
    """The smoke preset on CelebA faces and the real MNIST / USPS / MNIST-M: every real dataset
    prepared, the VAE trained and scored on CelebA, and a DANN pair. (The
    embedded smoke run of test_pipeline_e2e.py covers every stage; this one covers reading the published layouts.)"""
    clone = _make_clone(tmp_path / "repo", ["presets/smoke.yaml", "presets/real_data.yaml"])
    from ruamel.yaml import YAML

    yaml_rt = YAML()
    params = yaml_rt.load((clone / "params.yaml").read_text())
    for name, folder in (("faces", "celeba"), ("mnist", "mnist"), ("usps", "usps"), ("mnistm", "mnist_m")):
        params["data"][name]["root"] = str(SHARED / folder)
    params["data"]["faces"]["n_train"] = 0  # every CelebA train image
    params["data"]["svhn"].update({"source": "embedded", "root": "src/genadapt/data/embedded", "n_train": 200, "n_test": 100})
    with (clone / "params.yaml").open("w") as fh:
        yaml_rt.dump(params, fh)
    _commit(clone, "real data")
    log = _run(["dvc", "repro", "prepare-data@mnist", "evaluate-vae@vae", "train-adapt@mnistm-usps"], clone)
    assert {"prepare-data@faces", "prepare-data@mnist", "prepare-data@usps", "prepare-data@mnistm", "evaluate-vae@vae",
            "train-adapt@mnistm-usps"} <= _ran_stages(log)
    assert "prepared faces (celeba): train=4132, val=459, test=660" in log  # val: 10% of the official train partition
    assert "prepared mnistm (mnistm): train=18000, val=2000, test=9001, image shape (32, 32, 3)" in log
    meta = json.loads((clone / "data/prepared/usps/meta.json").read_text())
    assert meta["source"] == "usps" and meta["splits"] == {"train": 6562, "val": 729, "test": 2007}
    metrics = json.loads((clone / "metrics/vae.json").read_text())
    assert metrics["test_n"] == 660 and 0 < metrics["test_mse"] < 0.25
    assert (clone / "models/vae/vae.safetensors").is_file()
    dann = json.loads((clone / "metrics/mnistm-usps.json").read_text())
    assert dann["target_test_n"] == 2007 and all(0 <= dann[m] <= 1 for m in DANN_MODES)
