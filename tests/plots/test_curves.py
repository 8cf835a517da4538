"""Training curves from a Lightning CSVLogger file: rows merged by epoch, blanks as gaps."""

import math

import numpy as np
import pytest
from matplotlib.image import imread

from torchlvm.errors import DataError
from torchlvm.plots import save_figure, training_curves
from torchlvm.plots.curves import merge_by_epoch, read_metrics_csv

# What Lightning's CSVLogger writes with on_step and on_epoch logging plus validation:
# step rows with *_step values, a validation row and an epoch-end train row, blanks elsewhere.
LIGHTNING_CSV = """\
epoch,lr-Adam,step,train/elbo_epoch,train/elbo_step,train/kl_epoch,train/kl_step,\
train/log_lik_epoch,train/log_lik_step,val/elbo,val/kl,val/log_lik
0,0.001,9,,-150.5,,10.1,,-140.4,,,
0,,19,,,,,,,-120.0,12.0,-108.0
0,,19,-130.0,,11.0,,-119.0,,,,
1,0.001,29,,-110.2,,13.3,,-96.9,,,
1,,39,,,,,,,-105.0,13.5,-91.5
1,,39,-108.0,,13.0,,-95.0,,,,
2,0.001,49,,-101.0,,14.0,,-87.0,,,
2,,59,,,,,,,nan,,
2,,59,-100.0,,14.5,,-85.5,,,,
"""


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(LIGHTNING_CSV)
    return path


def test_merge_by_epoch_prefers_epoch_columns_and_keeps_gaps(csv_path):
    epochs, series = merge_by_epoch(read_metrics_csv(csv_path))
    assert epochs == [0, 1, 2]
    assert series["elbo"]["train"] == [-130.0, -108.0, -100.0]
    assert series["elbo"]["val"][:2] == [-120.0, -105.0] and math.isnan(series["elbo"]["val"][2])
    assert series["log_lik"]["train"] == [-119.0, -95.0, -85.5]
    assert "lr-Adam" not in series and "elbo_step" not in series


def test_training_curves_from_a_lightning_csv(csv_path, tmp_path):
    fig = training_curves(csv_path)
    assert [ax.get_title() for ax in fig.axes] == [
        "ELBO",
        "Reconstruction  E_q[log p(x|z)]",
        "KL(q(z|x) ‖ p(z))",
    ]
    train, val = fig.axes[0].get_lines()
    np.testing.assert_array_equal(train.get_ydata(), [-130.0, -108.0, -100.0])
    np.testing.assert_array_equal(val.get_xdata(), [1, 2])  # epochs from 1; NaN epoch skipped
    assert "nats per example" in fig.axes[0].get_ylabel()
    assert fig.axes[0].get_xlabel() == "epoch"
    path = tmp_path / "figures" / "training_curves.png"
    save_figure(fig, path)
    h, w = imread(path).shape[:2]
    assert w > 2 * h


def test_training_curves_from_rows_with_only_other_metrics():
    rows = [{"epoch": e, "train_loss": 10.0 / (e + 1), "val_loss": ""} for e in range(4)]
    fig = training_curves(rows)
    assert [ax.get_title() for ax in fig.axes] == ["loss"]
    assert len(fig.axes[0].get_lines()) == 1  # validation is all blank


def rows_for(epochs):
    return [{"epoch": e, "train/elbo": -100.0 + e, "val/elbo": -101.0 + e} for e in range(epochs)]


@pytest.mark.parametrize("epochs", [1, 2, 3, 7, 60])
def test_epoch_ticks_are_whole_epochs_counted_from_one(epochs):
    fig = training_curves(rows_for(epochs))
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks)
    labels = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert all(text.lstrip("−-").isdigit() for text in labels)  # "2", never "2.0" or "0.2"
    if epochs == 2:
        assert labels == ["1", "2"]


def test_legend_is_below_the_panels_not_over_a_curve():
    fig = training_curves(rows_for(5))
    fig.canvas.draw()
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["training", "validation"]
    box = legend.get_window_extent()
    assert all(not box.overlaps(ax.get_window_extent()) for ax in fig.axes)


@pytest.mark.parametrize(
    "rows",
    [[], [{"epoch": 0, "step": 3}], [{"epoch": 0, "train/elbo": ""}]],
    ids=["empty", "no-metric-columns", "all-blank"],
)
def test_training_curves_without_numbers_is_an_error(rows):
    with pytest.raises(DataError, match="no training metrics to draw"):
        training_curves(rows)


def test_missing_csv_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read training metrics"):
        training_curves(tmp_path / "nope.csv")


def test_a_conditional_models_terms_are_named_with_c(csv_path):
    """A CVAE's curves were titled E_q[log p(x|z)] and KL(q(z|x) ‖ p(z)): its terms are
    E_q[log p(x|z,c)] and KL(q(z|x,c) ‖ p(z|c)), the KL to its learned prior."""
    fig = training_curves(csv_path, conditional=True)
    assert [ax.get_title() for ax in fig.axes] == [
        "ELBO",
        "Reconstruction  E_q[log p(x|z,c)]",
        "KL(q(z|x,c) ‖ p(z|c))",
    ]
    assert "nats per example" in fig.axes[2].get_ylabel()


def test_importance_weighted_bounds_are_drawn_with_their_names_and_units():
    """A MIWAE run's curves were panels 'loss' and 'miwae', '(as logged)' with no unit; an IWAE
    run's L_k (train/iwae, val/iwae_5) was not drawn at all."""
    rows = [
        {"epoch": 0, "train/loss": 17.4, "train/miwae": -17.4, "val/miwae": -16.2},
        {"epoch": 1, "train/loss": 17.0, "train/miwae": -17.0, "val/miwae": -15.9},
    ]
    (ax,) = training_curves(rows, per="row").axes
    assert ax.get_title() == "MIWAE bound L_k on the observed cells"
    assert ax.get_ylabel() == "L_k [nats per row]"
    rows = [
        {"epoch": 0, "train/iwae": -30.0, "train/elbo": -31.0, "val/iwae_5": -29.0},
        {"epoch": 1, "train/iwae": -28.0, "train/elbo": -29.5, "val/iwae_5": -27.5},
    ]
    fig = training_curves(rows)
    assert [ax.get_title() for ax in fig.axes] == ["ELBO", "IWAE bound L_k"]
    train, val = fig.axes[1].get_lines()
    np.testing.assert_array_equal(val.get_ydata(), [-29.0, -27.5])


def test_a_saved_figure_is_marked_as_torchlvm_s(csv_path, tmp_path):
    """A figure torchlvm saved says so in its PNG (Software text), so commands can tell it from
    a user's file of the same name, which is never replaced unasked."""
    from matplotlib.figure import Figure

    from torchlvm.plots import drawn_by_torchlvm

    save_figure(training_curves(csv_path), tmp_path / "ours.png")
    Figure().savefig(tmp_path / "theirs.png", format="png")
    (tmp_path / "text.png").write_text("not a picture")
    assert drawn_by_torchlvm(tmp_path / "ours.png")
    assert not any(drawn_by_torchlvm(tmp_path / n) for n in ("theirs.png", "text.png", "no.png"))


def test_a_figures_label_is_its_pngs_description(csv_path, tmp_path):
    """userH #21: sample's figure had no words of what it showed beside its pixels. A figure's
    label is written as its PNG's Description text, non-Latin-1 characters too, and read back;
    a figure without one, or a file that is no PNG, has none."""
    from torchlvm.plots import figure_description

    fig = training_curves(csv_path)
    fig.set_label("4 samples of class Größe: E[x | z, c] at z ~ p(z | c), μ, seed 0")
    save_figure(fig, tmp_path / "said.png")
    save_figure(training_curves(csv_path), tmp_path / "plain.png")
    said = figure_description((tmp_path / "said.png").read_bytes())
    assert said == "4 samples of class Größe: E[x | z, c] at z ~ p(z | c), μ, seed 0"
    assert figure_description((tmp_path / "plain.png").read_bytes()) is None
    assert figure_description(b"not a picture") is None


# What an autoencoder's training writes: its loss, a reconstruction error (lower is better).
AUTOENCODER_CSV = """\
epoch,step,train/loss,train/reconstruction,val/reconstruction
0,9,40.8,40.8,34.3
1,19,30.4,30.4,28.2
"""


@pytest.mark.parametrize(
    "reconstruction, unit",
    [("bernoulli", "−log p(x | x̂) [nats per example]"), ("mse", "‖x − x̂‖² [per example]")],
)
def test_an_autoencoders_loss_is_not_drawn_as_a_log_likelihood(tmp_path, reconstruction, unit):
    """An autoencoder logs its reconstruction loss (positive, falling): a panel titled
    E_q[log p(x|z)] over a 'log-likelihood' axis told a reader the opposite sign and a q it has
    not got."""
    path = tmp_path / "metrics.csv"
    path.write_text(AUTOENCODER_CSV)
    (ax,) = training_curves(path, reconstruction=reconstruction).axes
    assert ax.get_title() == "Reconstruction loss (lower is better)"
    assert ax.get_ylabel() == unit
    (ax,) = training_curves(path).axes  # the loss's kind unknown: no unit claimed
    assert ax.get_ylabel() == "reconstruction loss [per example]"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [40.8, 30.4])


def test_a_first_epoch_far_off_the_rest_does_not_flatten_them(tmp_path):
    """A Gaussian run's ELBO of -4,100 at epoch 1 beside 0..+700 after set the y-range, and every
    later epoch was drawn as a flat line along the top (userM #15): the panel is scaled to the
    later epochs and says where the first lies."""
    from matplotlib.text import Text

    elbo = [-4100.0, 0.0, 300.0, 650.0, 700.0]
    rows = [{"epoch": e, "train/elbo": v} for e, v in enumerate(elbo)]
    fig = training_curves(rows)
    low, high = fig.axes[0].get_ylim()
    assert -100 < low < 0 and 700 < high < 800
    assert "epoch 1: -4100 (off the scale)" in [t.get_text() for t in fig.findobj(Text)]
    steady = training_curves([{"epoch": e, "train/elbo": -100.0 + 10 * e} for e in range(5)])
    assert steady.axes[0].get_ylim()[0] < -100  # (a first epoch within reach stays drawn)
    # two epochs have no later range to scale to: a demo run's first epoch stays drawn (readB #6)
    short = [{"epoch": 0, "train/kl": 0.435, "val/kl": 0.317}, {"epoch": 1, "train/kl": 0.254,
             "val/kl": 0.205}]  # fmt: skip
    assert training_curves(short).axes[0].get_ylim()[1] > 0.435
