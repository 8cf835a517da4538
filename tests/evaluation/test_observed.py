"""evaluate on rows with missing cells: every row's log p(x_o) on its observed cells, the other
sections on the complete rows."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.evaluation.evaluate import EvalConfig, evaluate
from torchlvm.evaluation.records import Evaluation, Undefined
from torchlvm.models.ppca import PPCA


def _table(x: torch.Tensor) -> Dataset:
    columns = tuple("abcde"[: x.shape[1]])
    return Dataset(x, None, "rows", "test", (x.shape[1],), None, None, "none", columns=columns)


def _ppca_and_rows() -> tuple[PPCA, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(120, 2, generator=gen) @ torch.randn(2, 5, generator=gen)
    x = (x + 0.3 * torch.randn(120, 5, generator=gen)).double()
    model = PPCA(latent_dim=2, method="em").fit(x)
    x[torch.arange(0, 120, 3), torch.arange(0, 120, 3) % 5] = float("nan")  # a third of rows
    return model, x


CONFIG = EvalConfig(k=20, ks=(1,), separability=False, sample_quality=False, ood=())


def test_every_row_is_scored_on_its_observed_cells_and_the_rest_on_complete_rows():
    model, x = _ppca_and_rows()
    result = evaluate(model, _table(x), CONFIG)
    observed = result.observed_likelihood
    assert observed is not None
    assert (observed.rows, observed.incomplete_rows, observed.missing_cells) == (120, 40, 40)
    assert observed.nats.kind == "exact" and observed.nats.unit == "nats/row"
    exact = model.log_marginal(x).mean().item()  # PPCA integrates the missing cells out
    assert observed.nats.value == pytest.approx(exact, abs=1e-6)
    complete = x[~torch.isnan(x).any(-1)]
    assert result.protocol.n == 80
    assert result.likelihood.exact.nats.value == pytest.approx(
        model.log_marginal(complete).mean().item(), abs=1e-6
    )
    assert Evaluation.from_json(result.to_json()).observed_likelihood == observed


def test_without_a_complete_row_the_full_row_sections_are_undefined_with_the_reason():
    model, x = _ppca_and_rows()
    x[torch.arange(120), torch.arange(120) % 5] = float("nan")
    result = evaluate(model, _table(x), CONFIG)
    assert result.observed_likelihood.incomplete_rows == 120 and result.protocol.n == 0
    for section in (result.likelihood, result.reconstruction, result.latent):
        assert isinstance(section, Undefined) and "missing cell" in section.reason


def test_a_standardized_table_is_in_rows_without_a_schema_and_says_what_its_nats_are_of():
    """evaluate() decides "table" from the dataset alone (no EvalConfig.table): every unit is
    per row, and the likelihood section says it is of the standardized columns, on the
    complete rows only."""

    model, x = _ppca_and_rows()
    data = _standardized(_table(x.float()))
    model = PPCA(latent_dim=2, method="em").fit(data.x.double())
    result = evaluate(model, data, CONFIG)
    assert result.protocol.noun == "row"
    like = result.likelihood
    assert like.exact.nats.unit == like.elbo.nats.unit == "nats/row" and like.log_marginal is None
    assert like.units == "in the run's standardized units"
    assert like.rows.startswith("on the 80 complete rows of 120 only")
    for pair in (like.elbo, like.exact, *like.iwae.values()):
        # said once for the section, not again in every metric's note (about 10 repeats in
        # the report)
        assert like.units not in pair.nats.note and like.rows not in pair.bits_per_dim.note
    assert result.reconstruction.mse_per_example.unit == "squared error/row"
    assert Evaluation.from_json(result.to_json()).likelihood == like


def test_images_are_examples_and_their_likelihood_names_no_table_units():
    model, x = _ppca_and_rows()
    complete = x[~torch.isnan(x).any(-1)]
    images = Dataset(complete, None, "flat", "test", (1, 1, 5), None, None, "none")
    like = evaluate(model, images, CONFIG).likelihood
    assert like.exact.nats.unit == "nats/example" and like.units is None and like.rows is None


@pytest.mark.parametrize(
    "record, table",
    [
        ({"example": "row", "unit": "nats per row (exact log p(x))"}, True),
        ({"example": "example", "unit": "nats per example (exact log p(x))"}, False),
        ({"unit": "nats per row (exact log p(x), standardized units)"}, True),  # before 'example'
        ({"unit": "nats per example (exact log p(x))"}, False),
    ],
    ids=["row", "example", "old-row", "old-example"],
)
def test_fits_record_says_whether_its_rows_are_a_tables(record, table):
    from torchlvm.evaluation.records import FitRecord

    assert FitRecord.from_json({"test_log_likelihood": -3.0, **record}).table is table


def _vae_and_rows() -> tuple[torch.nn.Module, Dataset]:
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=5, latent_dim=2, hidden=(8,), likelihood="gaussian")).eval()
    _, x = _ppca_and_rows()
    return model, _table(x.float())


def test_complete_rows_are_importance_sampled_once_and_enter_both_sections(monkeypatch):
    """On a split with missing cells only the incomplete rows are scored for the observed-cell
    likelihood; the complete rows' log p(x) is the likelihood section's (the same estimator,
    k and proposal), so the observed mean is made of exactly those two."""
    from torchlvm.evaluation import observed as observed_module

    model, data = _vae_and_rows()
    scored = []

    def spy(model, x, **kwargs):
        scores = score_rows(model, x, **kwargs)
        scored.append((x, scores))
        return scores

    score_rows = observed_module.score_rows
    monkeypatch.setattr(observed_module, "score_rows", spy)
    result = evaluate(model, data, CONFIG)
    [(rows, scores)] = scored
    assert len(rows) == 40 and bool(torch.isnan(rows).any(-1).all())  # the incomplete rows only
    total = -scores.neg_log_p.sum() + 80 * result.likelihood.log_marginal.nats.value
    assert result.observed_likelihood.nats.value == pytest.approx(total / 120, rel=1e-6)


def test_the_full_row_sections_of_a_split_with_missing_cells_are_those_of_its_complete_rows():
    """Same seed, same numbers: the incomplete rows are scored after every full-row section,
    so adding them to a split changes none of those sections' draws."""
    model, data = _vae_and_rows()
    complete = data.x[~torch.isnan(data.x).any(-1)]
    alone = evaluate(model, _table(complete), CONFIG)
    mixed = evaluate(model, data, CONFIG)
    assert mixed.likelihood.log_marginal.nats.value == alone.likelihood.log_marginal.nats.value
    assert mixed.likelihood.elbo.nats.value == alone.likelihood.elbo.nats.value
    assert mixed.latent == alone.latent and mixed.reconstruction == alone.reconstruction


def test_a_standardized_tables_ood_file_is_read_in_its_units_without_a_schema(tmp_path):
    """evaluate() reads an OOD file of a table with the dataset's own columns and
    standardization when EvalConfig.table is not given (in the file's raw units, a column in
    the hundreds would make every row an outlier)."""

    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(300, 2, generator=gen) @ torch.randn(2, 5, generator=gen)
    raw = (raw + 0.3 * torch.randn(300, 5, generator=gen)) * torch.tensor([1, 10, 100, 1, 1])
    data = _standardized(_table(raw.float()))
    model = PPCA(latent_dim=2).fit(data.x.double())
    path, near = tmp_path / "same.csv", tmp_path / "near.csv"
    rows = [",".join(repr(v) for v in row) for row in raw[:100].tolist()]
    path.write_text("a,b,c,d,e\n" + "\n".join(rows) + "\n")
    moved = raw[:100] * (1 + 1e-3 * torch.randn(100, 5, generator=gen))  # (not its rows)
    rows = [",".join(repr(v) for v in row) for row in moved.tolist()]
    near.write_text("a,b,c,d,e\n" + "\n".join(rows) + "\n")
    config = EvalConfig(k=20, ks=(1,), separability=False, sample_quality=False)
    result = evaluate(model, data, dataclasses.replace(config, ood=(str(path), str(near))))
    # read in the table's units, its own rows are found to be its own (review12 #12: skipped)
    assert "every one of its 100 rows is one of the run's own" in result.outliers.skipped[str(path)]
    auroc = result.outliers.sets[str(near)].score.auroc.value
    assert 0.3 < auroc < 0.7  # rows as its own: no outliers


def _standardized(data):
    """``data`` standardized by its seed-0 train split's means and scales, as a table is read."""
    from torchlvm.data.files import FRACTIONS, standardized
    from torchlvm.data.splits import split_parts

    return standardized(data, True, parts=split_parts(data, fractions=FRACTIONS, seed=0))
