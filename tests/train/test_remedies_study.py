"""Slow studies (``pytest -m slow``): what remedies buy, on short versions of the classic tasks."""

import pytest

from rnnanalysis import compare_remedies
from rnnanalysis.train import Adam


@pytest.mark.slow
def test_gated_cells_beat_plain_tanh_on_temporal_order():
    res = compare_remedies("temporal_order", [50], ["tanh", "lstm+clip", "gru+clip"], 5, 800,
                           hidden=32, optimizer=Adam(0.01), eval_size=500)
    rate = {row["remedy"]: row["success_rate"] for row in res.summary}
    assert rate["tanh"] <= 0.2                     # Pascanu 2013: plain RNNs fail as T grows
    assert rate["lstm+clip"] >= 0.8 and rate["gru+clip"] >= 0.8
