"""The condition a CVAE's traversals, interpolation and manifold are decoded at is said: in the
figure data, the figures' titles and the run's record (metrics.json "figures")."""

from types import SimpleNamespace

import torch
from matplotlib.text import Text

from torchlvm.evaluation.figure_data import figure_data
from torchlvm.evaluation.records import Figures
from torchlvm.models import CVAE, CVAEConfig

NAMES = ["zero", "one", "two", "three"]


def test_a_cvaes_traversals_name_the_class_they_are_drawn_at(tmp_path):
    """A CVAE's latent traversal figure was decoded at the first example's class and said
    nothing of it (title, caption or record)."""
    from torchlvm.cli._evaluate_figures import _figure_jobs

    torch.manual_seed(0)
    model = CVAE(CVAEConfig(64, 4, latent_dim=2, hidden=(8,), num_classes=4))
    x = torch.rand(6, 64).round()
    y = torch.tensor([3, 0, 1, 2, 3, 0])
    c = model.condition_from_labels(y)
    d = figure_data(model, x, y, c, shape=(1, 8, 8), condition="label", class_names=NAMES)
    assert d.condition == "class three (the first example's)"
    result = SimpleNamespace(latent=None, protocol=SimpleNamespace(noun="example"))
    jobs = _figure_jobs(d, result, tmp_path / "none.csv", NAMES, True)
    for name, title in (
        ("traversals", "Latent traversals"),
        ("interpolation", "Interpolation in latent space"),
        ("manifold", "Decoded 2-D latent manifold"),
    ):
        texts = [t.get_text() for t in jobs[name]().findobj(Text)]
        assert f"{title} at c = class three (the first example's)" in texts, name
    record = Figures(written=("traversals.png",), condition=d.condition)
    assert record.to_json()["condition"] == d.condition
    assert Figures.from_json(record.to_json()) == record


def test_an_unconditional_models_figures_name_no_condition():
    from torchlvm.models import VAE, VAEConfig

    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    d = figure_data(model, torch.rand(4, 64).round(), None, None, shape=(1, 8, 8))
    assert d.condition is None and "condition" not in Figures().to_json()


def test_traversals_of_many_dimensions_show_those_that_change_the_image_and_say_so(tmp_path):
    """With K = 20 the traversals showed z1..z10, titled 'Latent traversals', with no word that
    10 were left out, though the informative ones were among them (userB): past 10 they show the
    10 whose traversal changes the image most (a dimension the decoder ignores is left out),
    and the title says which share of K they are."""
    from torchlvm.cli._evaluate_figures import _figure_jobs
    from torchlvm.evaluation.records import Latent
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(64, latent_dim=12, hidden=(8,))).eval()
    with torch.no_grad():
        model.decoder[0].weight[:, [1, 4]] = 0.0  # z2 and z5 change nothing
    x = torch.rand(30, 64).round()
    d = figure_data(model, x, None, None, shape=(1, 8, 8))
    assert d.traversal_dims == [0, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    result = SimpleNamespace(latent=Latent(latent_dim=12), protocol=SimpleNamespace(noun="example"))
    texts = [
        t.get_text()
        for t in _figure_jobs(d, result, tmp_path / "n.csv", None, False)["traversals"]().findobj(
            Text
        )
    ]
    assert "Latent traversals: the 10 of 12 dimensions that change the image most" in texts


def test_ppcas_traversals_keep_its_first_principal_directions():
    """userM #10: PPCA's traversals of 10 of 20 dimensions left out z1, the first principal
    direction: ranked by the posterior means' variance, (λ_i − σ²)/λ_i ≈ 1 for every i, the
    choice was noise. The image change follows the variance each explains."""
    from torchlvm.data import load_dataset
    from torchlvm.models import PPCA

    x = load_dataset("digits", "train").x
    model = PPCA(latent_dim=20).fit(x)
    d = figure_data(model, x[:200], None, None, shape=(1, 8, 8))
    assert d.traversal_dims == list(range(10))


def test_a_cvaes_kl_per_dimension_names_its_condition(tmp_path):
    """A CVAE's kl_per_dimension.png read KL(q(zᵢ|x) ‖ p(zᵢ)) while its values, metrics.json
    and its training curves are KL(q(zᵢ|x,c) ‖ p(zᵢ|c)) (userM #15)."""
    from torchlvm.cli._evaluate_figures import _figure_jobs
    from torchlvm.evaluation.quantity import Quantity
    from torchlvm.evaluation.records import Latent

    torch.manual_seed(0)
    model = CVAE(CVAEConfig(64, 4, latent_dim=2, hidden=(8,), num_classes=4))
    x, y = torch.rand(6, 64).round(), torch.tensor([3, 0, 1, 2, 3, 0])
    c = model.condition_from_labels(y)
    d = figure_data(model, x, y, c, shape=(1, 8, 8), condition="label", class_names=NAMES)
    latent = Latent(latent_dim=2, kl_per_dim=Quantity([0.5, 0.1], "nats"))
    result = SimpleNamespace(latent=latent, protocol=SimpleNamespace(noun="example"))
    for conditional, said in ((True, "KL(q(zᵢ|x,c) ‖ p(zᵢ|c))"), (False, "KL(q(zᵢ|x) ‖ p(zᵢ))")):
        jobs = _figure_jobs(d, result, tmp_path / "none.csv", NAMES, conditional)
        label = jobs["kl_per_dimension"]().axes[0].get_ylabel()
        assert label == f"{said} [nats, mean over data]"
