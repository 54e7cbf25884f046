"""Training-step throughput of the pipeline's loops against minimal reference loops (printed as a table).

For each model the pipeline's own training function runs ``--steps`` steps with everything it
does in a stage (MLflow metric batching into a temporary store, checkpoints, progress bar,
seeded batch sampler, NaN checks), and a minimal pytorch/examples-style loop runs the same
architecture, batch size, losses and optimiser on the same in-memory data. Both are timed in
the same process, alternating (in reversed order every other repeat), ``--repeats`` times; the
table gives median ms/step and the throughput ratio = median over repeats of reference time /
pipeline time (1.0 = no overhead). Both loops use the stage's memory format and precision
(``channels_last``, ``amp``).

GAN rows switch off the algorithmic extras that the reference does not have (soft/noisy
labels, instance noise, EMA, periodic quality scoring), so the ratio measures the loop's
infrastructure; the ``+extras`` row shows the cost of the defaults for information.

    PYTHONPATH=src python bench/train_step.py [--steps 50] [--repeats 5]

``--steps`` defaults to twice ``tracking.log_every``, so the pipeline flushes its metric batches
to MLflow as often per step as in a stage (a last flush at the end of a shorter run would
over-count them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genadapt.core.params import load_params, replace
from genadapt.core.runtime import memory_format, mixed_precision, to_float_images
from genadapt.core.tracking import MetricBuffer, ModelRun, start_model_run
from genadapt.data.format.prepared import PreparedSplit
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.model import Discriminator, Generator
from genadapt.families.gan.training import GANData, train_gan
from genadapt.families.vae.shared.model import VAE, vae_loss
from genadapt.families.vae.training import train_vae, vae_config
from genadapt.training.checkpointing import Checkpointer


def reference_vae(cfg, images: np.ndarray, steps: int) -> None:
    """pytorch/examples VAE style: random batches from memory, Adam, loss, step (the pipeline's
    memory format and precision)."""
    torch.manual_seed(0)
    fmt = memory_format(cfg.channels_last)
    model = VAE(vae_config(cfg, images)).to(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    data = torch.from_numpy(images)
    autocast = mixed_precision(torch.device("cpu"), cfg.amp)
    for _ in range(steps):
        x = to_float_images(data[torch.randint(0, len(data), (cfg.batch_size,))]).contiguous(memory_format=fmt)
        with autocast:
            recon, mu, logvar = model(x)
        loss, _, _ = vae_loss(recon, x, mu, logvar, cfg.kl_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


REFERENCE_KINDS = ("dcgan", "acgan", "infogan")  # the GAN kinds reference_gan writes out


def reference_gan(cfg, kind: str, data: GANData, steps: int) -> None:
    """pytorch/examples DCGAN style (plus the ACGAN auxiliary / InfoGAN code losses), with the
    pipeline's fresh fakes for G's update, its memory format and precision."""
    torch.manual_seed(0)
    net = get_kind(kind).net_config(cfg, data.n_classes)
    G, D = Generator(net), Discriminator(net)
    fmt = memory_format(cfg.channels_last)
    G, D = G.to(memory_format=fmt), D.to(memory_format=fmt)
    q = list(D.q_head.parameters()) if D.q_head is not None else []
    opt_d = torch.optim.Adam([p for n, p in D.named_parameters() if not n.startswith("q_head.")], lr=cfg.lr_d, betas=(cfg.beta1, 0.999))
    opt_g = torch.optim.Adam(list(G.parameters()) + q, lr=cfg.lr_g, betas=(cfg.beta1, 0.999))
    images = torch.from_numpy(data.images)
    labels = torch.from_numpy(data.conditions) if data.conditions is not None else None
    b = cfg.batch_size
    ones, zeros = torch.ones(b), torch.zeros(b)
    autocast = mixed_precision(torch.device("cpu"), cfg.amp)

    def latent():
        parts, extra = [torch.randn(b, net.nz)], {}
        if net.n_classes:
            extra["y"] = torch.randint(0, net.n_classes, (b,))
            parts.append(F.one_hot(extra["y"], net.n_classes).float())
        if net.n_categorical:
            extra["c"] = torch.randint(0, net.n_categorical, (b,))
            parts.append(F.one_hot(extra["c"], net.n_categorical).float())
        if net.n_continuous:
            extra["u"] = torch.rand(b, net.n_continuous) * 2 - 1
            parts.append(extra["u"])
        return torch.cat(parts, 1), extra

    for _ in range(steps):
        idx = torch.randint(0, len(images), (b,))
        real = (to_float_images(images[idx]) * 2 - 1).contiguous(memory_format=fmt)
        z, extra = latent()
        with autocast:
            fake = G(z)
            out_r, out_f = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(out_r["adv"].float(), ones)
                  + F.binary_cross_entropy_with_logits(out_f["adv"].float(), zeros))
        if kind == "acgan":
            loss_d = loss_d + F.cross_entropy(out_r["class"].float(), labels[idx])
            if cfg.aux_on_fake:
                loss_d = loss_d + F.cross_entropy(out_f["class"].float(), extra["y"])
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        z, extra = latent()
        with autocast:
            out = {k: v.float() for k, v in D(G(z)).items()}
        loss_g = F.binary_cross_entropy_with_logits(out["adv"], ones)
        if kind == "acgan":
            loss_g = loss_g + F.cross_entropy(out["class"], extra["y"])
        if kind == "infogan":
            loss_g = loss_g + F.cross_entropy(out["cat"], extra["c"]) + 0.5 * ((out["cont"] - extra["u"]) ** 2).sum(1).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=0, help="default: 2 x tracking.log_every")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", default="", help="model instances of params.yaml, comma-separated (default: all)")
    args = parser.parse_args()
    params = load_params(families=None)
    args.steps = args.steps or 2 * params.tracking.log_every
    store = tempfile.mkdtemp()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    rows = []
    names = args.models.split(",") if args.models else [n for instances in params.models.values() for n in instances]
    for name in names:
        family, cfg = params.instance(name)
        if family == "gan" and cfg.kind not in REFERENCE_KINDS:
            print(f"skipped {name}: no reference loop for kind {cfg.kind}", flush=True)
            continue
        if family == "vae":
            cfg = replace(cfg, steps=args.steps)
            images = rng.integers(0, 255, (512, 64, 64, 3), dtype=np.uint8)
            run = ModelRun(start_model_run(params, "bench-vae", {}))
            split = PreparedSplit(images, None)

            def pipeline_vae(cfg=cfg, split=split, run=run):
                ckpt = Checkpointer(Path(store) / "vae.ckpt", "bench", cfg.checkpoint_every)
                train_vae(cfg, split, cpu, 0, MetricBuffer(run, params.tracking.log_every), ckpt)
                ckpt.remove()  # each repeat starts from step 1

            variants = {"vae": pipeline_vae}
            reference = lambda cfg=cfg, images=images: reference_vae(cfg, images, args.steps)  # noqa: E731
        else:
            kind = cfg.kind
            full = replace(cfg, steps=args.steps)
            plain = replace(full, real_label=(1.0, 1.0), fake_label=(0.0, 0.0), label_flip=0.0, instance_noise=0.0, ema_decay=0.0,
                            eval_every=0)
            s, c = full.image_size, full.channels
            n_classes = (10 if full.condition == "label" else 2) if kind == "acgan" else 0
            data = GANData(rng.integers(0, 255, (512, s, s, c), dtype=np.uint8),
                           rng.integers(0, max(n_classes, 1), 512).astype(np.int64) if n_classes else None, n_classes)
            run = ModelRun(start_model_run(params, f"bench-{name}", {}))

            def pipeline(cfg, tag, name=name, kind=kind, data=data, run=run):
                def run_once():
                    ckpt = Checkpointer(Path(store) / f"{name}{tag}.ckpt", "bench", cfg.checkpoint_every)
                    train_gan(get_kind(kind), cfg, data, cpu, 0, MetricBuffer(run, params.tracking.log_every), ckpt)
                    ckpt.remove()  # each repeat starts from step 1

                return run_once

            variants = {name: pipeline(plain, ""), f"{name} +extras": pipeline(full, "x")}
            reference = lambda plain=plain, kind=kind, data=data: reference_gan(plain, kind, data, args.steps)  # noqa: E731
        ref_times, times = [], {v: [] for v in variants}
        reference()  # untimed warm-up of each loop (oneDNN primitive caches, allocator)
        for fn in variants.values():
            fn()
        for repeat in range(args.repeats):
            # The order flips every repeat, so neither loop always runs first after the other.
            order = [(None, reference), *variants.items()]
            for variant, fn in order[::-1] if repeat % 2 else order:
                (ref_times if variant is None else times[variant]).append(_timed(fn))
        ref = statistics.median(ref_times) / args.steps
        for variant, values in times.items():
            pipe = statistics.median(values) / args.steps
            # Ratio of each repeat's adjacent runs, then the median: the machine's drift between
            # repeats cancels out.
            ratio = statistics.median(r / v for r, v in zip(ref_times, values))
            rows.append((variant, ref * 1000, pipe * 1000, ratio))
        print(f"done {name}", flush=True)
    print(f"\nCPU threads: {torch.get_num_threads()}, {args.steps} steps x {args.repeats} repeats; ms/step: medians; "
          "ratio: median of the repeats' reference / pipeline time\n")
    print("| model | reference ms/step | pipeline ms/step | throughput ratio |")
    print("|---|---|---|---|")
    for variant, ref, pipe, ratio in rows:
        print(f"| {variant} | {ref:.1f} | {pipe:.1f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
