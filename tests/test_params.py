import pytest

from genadapt.core.errors import PipelineError
from genadapt.core.params import load_params, parse_params


def test_repository_params_are_valid_and_filled_from_the_family_defaults(repo):
    params = load_params(repo / "params.yaml", families=None)
    family, vae = params.instance("vae")
    assert family == "vae" and vae.dataset == "faces" and vae.latent_dim == 128  # a default from families/vae/shared/params.py
    _, acgan = params.instance("acgan-faces")
    assert (acgan.kind, acgan.condition, acgan.aux_weight, acgan.steps) == ("acgan", "Smiling", 1.0, 1500)
    assert params.data.get("mnist").n_train > 0


def test_a_stage_validates_only_its_own_family(raw_params):
    raw_params["models"]["gan"]["dcgan"]["lr_g"] = "fast"
    params = parse_params(raw_params, families=("vae",))  # a VAE stage never imports the GAN family
    assert params.instance("vae")[1].steps > 0
    with pytest.raises(PipelineError, match="models.gan.dcgan.lr_g"):
        parse_params(raw_params, families=("gan",))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p["models"]["vae"]["vae"].update(lrr=0.1), "unknown key 'models.vae.vae.lrr'"),
        (lambda p: p["models"]["vae"]["vae"].update(lr="fast"), "models.vae.vae.lr: Input should be a valid number"),
        (lambda p: p["models"]["vae"]["vae"].update(steps=1.5), "models.vae.vae.steps: Input should be a valid integer (got 1.5)"),
        (lambda p: p["models"]["vae"]["vae"].update(steps=True), "models.vae.vae.steps: Input should be a valid integer (got True)"),
        (lambda p: p["models"]["vae"]["vae"].update(steps=0), "models.vae.vae.steps: Input should be greater than or equal to 1"),
        (lambda p: p["models"]["vae"]["vae"].update(device="tpu"), "models.vae.vae.device: Input should be 'auto', 'cpu' or 'cuda'"),
        (lambda p: p["models"]["vae"]["vae"].pop("dataset"), "missing key 'models.vae.vae.dataset'"),
        (lambda p: p["models"]["gan"]["dcgan"].update(kind="wgan"), "models.gan.dcgan.kind: 'wgan' is not one of"),
        (lambda p: p["models"]["gan"]["dcgan"].update(lr_g=float("nan")), "models.gan.dcgan.lr_g: expected a finite number, got nan"),
        (lambda p: p["models"]["gan"]["dcgan"].update(ema_decay=1.5), "models.gan.dcgan.ema_decay: Input should be less than 1"),
        (lambda p: p["models"]["gan"]["dcgan"].update(label_flip=2), "dcgan.label_flip: Input should be less than or equal to 1"),
        (lambda p: p["models"]["gan"]["dcgan"].update(real_label=[1, 0]), "models.gan.dcgan.real_label: [1.0, 0.0] must be [low, high]"),
        (lambda p: p["models"]["gan"]["dcgan"].update(image_size=48), "models.gan.dcgan.image_size: 48 is not a power of two"),
        (lambda p: p["models"]["gan"]["infogan"].update(n_categorical=0, n_continuous=0), "InfoGAN needs n_categorical or n_continuous"),
        (lambda p: p["models"]["gan"]["acgan-faces"].pop("condition"), "missing key 'models.gan.acgan-faces.condition'"),
        (lambda p: p["models"]["vae"]["vae"].update(dataset="mnist"), "models.vae.vae.dataset: mnist images are 28x28"),
        (lambda p: p["models"]["gan"].update(Bad_Name={"kind": "dcgan", "dataset": "faces"}), "String should match pattern"),
        (lambda p: p["models"]["gan"].update(vae={"kind": "dcgan", "dataset": "faces"}), "the name is also used in models.vae"),
        (lambda p: p["models"].update(vqvae={}), "models.vqvae: unknown model family"),
        (lambda p: p.update(seed=-5), "seed: Input should be greater than or equal to 0 (got -5)"),
        (lambda p: p["data"]["faces"].update(source="web"), "data.faces.source: 'web' is not one of embedded, celeba, folder"),
        (lambda p: p["data"]["usps"].update(source="celeba"), "data.usps.source: 'celeba' is not one of embedded, usps, folder"),
        (lambda p: p["data"]["mnist"].update(n_test=0), "data.mnist: embedded data needs n_train and n_test >= 1"),
        (lambda p: p["models"]["adapt"].update({"x y": p["models"]["adapt"]["mnist-usps"]}), "models.adapt.x y.[key]: String should match"),
        (lambda p: p["models"]["adapt"]["mnist-usps"].update(target="mnist"),
         "models.adapt.mnist-usps.target: source and target are both 'mnist'"),
        (lambda p: p["models"]["cyclegan"].pop("cycle-svhn-mnistm"),
         "models.pixel.pixel-svhn-mnistm.translator: 'cycle-svhn-mnistm' is not a models.cyclegan instance"),
        (lambda p: p["models"]["pixel"]["pixel-svhn-mnistm"].update(translator="cycle-mnist-mnistm"),
         "translator: cycle-mnist-mnistm translates mnist <-> mnistm, not svhn <-> mnistm"),
        (lambda p: p["references"].remove("anime"),
         "references: 'anime' is missing (models.cyclegan.cartoon-anime is scored against its test split)"),
        (lambda p: p["models"]["adapt"]["mnist-usps"].update(methods=["dann", "mmd"]),
         "models.adapt.mnist-usps.methods: 'mmd' is not one of cdan_e, dann, dann_st, "),
        (lambda p: p.update(data=[1, 2]), "data: Input should be a valid dictionary"),
        (lambda p: p.update(extra=1), "unknown key 'extra'"),
    ],
)
def test_bad_values_name_the_key_in_one_line(raw_params, mutate, message):
    mutate(raw_params)
    with pytest.raises(PipelineError) as info:
        parse_params(raw_params, families=None)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_numeric_strings_are_floats(raw_params):
    raw_params["models"]["vae"]["vae"]["lr"] = "1e-4"  # how YAML 1.1 reads 1e-4
    assert parse_params(raw_params, families=None).instance("vae")[1].lr == 1e-4


def test_unreadable_params_file(tmp_path):
    (tmp_path / "params.yaml").write_text("vae: [unclosed\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")
    with pytest.raises(PipelineError, match="file not found"):
        load_params(tmp_path / "missing.yaml")


def test_unknown_dataset_name(repo):
    with pytest.raises(PipelineError, match="unknown dataset 'cifar'"):
        load_params(repo / "params.yaml").data.get("cifar")
