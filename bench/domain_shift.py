"""Cross-domain accuracy matrix of the embedded digit domains (printed as a Markdown table).

A small CNN is trained on each domain's train split and tested on every domain's test split,
all brought to 32x32 RGB. Rows: training domain; columns: test domain.

    PYTHONPATH=src python bench/domain_shift.py [--steps 400]
"""

import argparse

import torch

from genadapt.core.params import load_params
from genadapt.data.embedded.digits import DIGIT_DOMAINS, make_digit_domain
from genadapt.data.format.transforms import to_common_format
from genadapt.evaluator.loop import fit_classifier, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps per classifier (batch 64)")
    args = parser.parse_args()
    params = load_params()
    data = {}
    for domain in DIGIT_DOMAINS:
        cfg = params.data.get(domain)
        splits = {s: make_digit_domain(domain, s, n, params.seed) for s, n in (("train", cfg.n_train), ("test", cfg.n_test))}
        data[domain] = {s: (to_common_format(x, 32, 3), y) for s, (x, y) in splits.items()}
    print(f"| train \\ test | {' | '.join(DIGIT_DOMAINS)} |")
    print(f"|---|{'---|' * len(DIGIT_DOMAINS)}")
    for source in DIGIT_DOMAINS:
        model = fit_classifier(*data[source]["train"], False, args.steps, torch.Generator().manual_seed(params.seed))
        row = [(predict(model, data[t]["test"][0]) == data[t]["test"][1]).mean() for t in DIGIT_DOMAINS]
        print(f"| {source} | {' | '.join(f'{a:.3f}' for a in row)} |", flush=True)


if __name__ == "__main__":
    main()
