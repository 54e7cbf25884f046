"""KeepBest (training/selection.py): the first strictly best score wins, in either direction, and its record survives a checkpoint."""

import torch

from genadapt.training.selection import KeepBest


def test_lower_is_better_by_default_and_ties_keep_the_earlier_step():
    best = KeepBest()
    state = {"w": torch.tensor([1.0])}
    assert best.offer(5, 3.0, state) and best.offer(10, 2.0, {"w": torch.tensor([2.0])})
    assert not best.offer(15, 2.0, {"w": torch.tensor([3.0])}) and not best.offer(20, 9.0, state)
    assert (best.step, best.score, best.state["w"].item()) == (10, 2.0, 2.0)


def test_higher_is_better_for_accuracies_and_the_state_is_a_copy():
    best = KeepBest(higher_is_better=True)
    weights = {"w": torch.tensor([1.0])}
    best.offer(1, 0.5, weights)
    weights["w"] += 1  # training goes on in place
    assert best.state["w"].item() == 1.0
    assert not best.offer(2, 0.4, weights) and best.offer(3, 0.6, weights) and best.step == 3


def test_a_record_restored_from_a_checkpoint_goes_on_where_it_stopped():
    first = KeepBest()
    first.offer(4, 1.5, {"w": torch.tensor([0.0])})
    resumed = KeepBest(record=first.record)
    assert not resumed.offer(8, 1.5, {}) and resumed.offer(8, 1.0, {}) and resumed.step == 8
