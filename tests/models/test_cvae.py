"""CVAE: conditioning everywhere, learned and standard priors, labels, transfer, bad conditions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal

from torchlvm.errors import ConfigError, DataError
from torchlvm.inference import elbo, iwae_bound
from torchlvm.models.conditions import image_mask, masked_condition
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.registry import MODELS
from torchlvm.protocol import LatentVariableModel

DIGITS = tuple(str(d) for d in range(10))
CONFIGS = {
    "mlp-learned-prior": CVAEConfig(64, 10, latent_dim=3, hidden=(16,), num_classes=10),
    "mlp-standard-prior": CVAEConfig(64, 10, latent_dim=3, hidden=(16,), prior="standard"),
    "conv-8x8-learned": CVAEConfig(
        64, 10, latent_dim=3, hidden=(16,), arch="conv", image_shape=(1, 8, 8), num_classes=10
    ),
    "conv-28x28-standard": CVAEConfig(
        784, 10, latent_dim=4, hidden=(), arch="conv", image_shape=(1, 28, 28), prior="standard"
    ),
    "gaussian-linear-decoder": CVAEConfig(
        64, 10, latent_dim=3, hidden=(16,), likelihood="gaussian", linear_decoder=True
    ),
    "mlp-vamp-prior": CVAEConfig(
        64, 10, latent_dim=3, hidden=(16,), num_classes=10, prior="vamp", prior_components=3
    ),
    "conv-8x8-mog": CVAEConfig(
        64, 10, latent_dim=3, hidden=(16,), arch="conv", image_shape=(1, 8, 8), prior="mog"
    ),
}


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def model(request) -> CVAE:
    torch.manual_seed(0)
    return CVAE(CONFIGS[request.param])


def batch(model: CVAE, size: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(size, model.input_dim, generator=g)
    c = torch.eye(model.condition_dim)[torch.arange(size) % model.condition_dim]
    return x, c


def labelled_model(**overrides) -> CVAE:
    torch.manual_seed(0)
    fields = {"latent_dim": 3, "hidden": (16,), "num_classes": 10, "class_names": DIGITS}
    return CVAE(CVAEConfig(64, 10, **{**fields, **overrides}))


def test_cvae_satisfies_the_protocol_and_is_registered(model):
    assert isinstance(model, LatentVariableModel)
    assert MODELS["cvae"] is CVAE and CVAE.Config is CVAEConfig
    assert (model.input_dim, model.latent_dim, model.condition_dim) == (
        model.config.input_dim,
        model.config.latent_dim,
        10,
    )


def test_distribution_shapes_with_sample_dims(model):
    x, c = batch(model)
    B, K, D = 4, model.latent_dim, model.input_dim
    q = model.encode(x, c)
    assert isinstance(q, Independent) and isinstance(q.base_dist, Normal)
    assert (q.batch_shape, q.event_shape) == ((B,), (K,))
    p_x = model.decode(q.rsample((5,)), c)  # z (S, B, K), c (B, C) broadcast
    assert (p_x.batch_shape, p_x.event_shape) == ((5, B), (D,))
    prior = model.prior(c)
    assert (prior.batch_shape, prior.event_shape) == ((B,), (K,))
    assert model.prior(c[0], batch_shape=(B,)).batch_shape == (B,)


def test_point_outputs_have_documented_shapes(model):
    x, c = batch(model)
    assert model.sample(6, c[0]).shape == (6, model.input_dim)
    assert model.sample(4, c).shape == (4, model.input_dim)
    assert model.reconstruct(x, c).shape == x.shape
    assert model.posterior_mean(x, c).shape == (4, model.latent_dim)
    assert model.transfer(x, c, c.flip(0)).shape == x.shape


def test_transfer_to_the_same_condition_is_reconstruction(model):
    x, c = batch(model)
    torch.testing.assert_close(model.transfer(x, c, c), model.reconstruct(x, c))


def test_condition_changes_the_decoder_output(model):
    x, c = batch(model)
    assert not torch.allclose(model.transfer(x, c, c), model.transfer(x, c, c.flip(0)))


def test_learned_prior_starts_at_standard_normal_and_depends_on_c():
    model = labelled_model()
    c = torch.eye(10)[:3]
    prior = model.prior(c)
    torch.testing.assert_close(prior.mean, torch.zeros(3, 3))
    torch.testing.assert_close(prior.stddev, torch.ones(3, 3))
    with torch.no_grad():
        model.prior_net[-1].weight.normal_()
    moved = model.prior(c).mean
    assert not torch.allclose(moved[0], moved[1])
    assert any(name.startswith("prior_net.") for name, _ in model.named_parameters())


def test_standard_prior_has_no_prior_network():
    model = CVAE(CONFIGS["mlp-standard-prior"])
    assert not hasattr(model, "prior_net")
    prior = model.prior(torch.eye(10)[:2])
    torch.testing.assert_close(prior.mean, torch.zeros(2, 3))


def test_elbo_and_iwae_are_finite_per_example_and_differentiable(model):
    x, c = batch(model)
    terms = elbo(model, x, c, num_samples=2)
    bound = iwae_bound(model, x, c, num_samples=5)
    for value in (*terms, bound):
        assert value.shape == (4,) and torch.isfinite(value).all()
    (-(terms.elbo.sum() + bound.sum())).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_iwae_with_one_sample_equals_the_monte_carlo_elbo(model):
    x, c = batch(model)
    torch.manual_seed(7)
    bound = iwae_bound(model, x, c, num_samples=1)
    torch.manual_seed(7)
    terms = elbo(model, x, c, kl_method="mc")
    torch.testing.assert_close(bound, terms.elbo, rtol=1e-6, atol=1e-5)


def test_condition_from_labels_accepts_integers_tensors_and_names():
    model = labelled_model()
    expected = torch.eye(10)[[3, 0, 7]]
    torch.testing.assert_close(model.condition_from_labels([3, 0, 7]), expected)
    torch.testing.assert_close(model.condition_from_labels(torch.tensor([3, 0, 7])), expected)
    torch.testing.assert_close(model.condition_from_labels(["3", 0, "7"]), expected)


def test_class_conditional_sampling_the_c_equals_7_example():
    model = labelled_model()
    sevens = model.sample(5, model.condition_from_labels(["7"])[0])
    assert sevens.shape == (5, 64)


def test_give_me_a_7_as_one_label():
    """model.condition_from_labels(7) raised Python's TypeError ('int' object is not iterable),
    and sample(5, 7) was told to convert c with torch.as_tensor, which makes a 0-d tensor that
    is refused in turn: one label gives its one-hot row (C,), shared by the batch, as a 0-d
    tensor does, and a label where c goes names condition_from_labels with it."""
    model = labelled_model()
    seven = torch.eye(10)[7]
    for label in (7, "7", np.int64(7), torch.tensor(7)):
        torch.testing.assert_close(model.condition_from_labels(label), seven)
    assert model.sample(5, model.condition_from_labels(7)).shape == (5, 64)
    with pytest.raises(
        ConfigError, match=r"got the label 7; pass model.condition_from_labels\(7\)"
    ):
        model.sample(5, 7)
    with pytest.raises(ConfigError, match=r"got torch.float32; convert them with labels.long\(\)"):
        model.condition_from_labels(torch.tensor([7.0]))


def test_imputation_condition_from_a_mask_fits_a_cvae():
    torch.manual_seed(0)
    model = CVAE(CVAEConfig(64, 128, latent_dim=3, hidden=(16,)))
    x = torch.rand(4, 64)
    c = masked_condition(x, image_mask("top", (1, 8, 8)))
    assert torch.isfinite(elbo(model, x, c).elbo).all()
    assert model.sample(4, c).shape == (4, 64)


@pytest.mark.parametrize(
    "c, match",
    [
        (None, r"CVAE needs a condition c of shape \(B, condition_dim\) = \(B, 10\), got None"),
        (torch.zeros(4, 3), r"condition_dim\) = \(B, 10\), got shape \(4, 3\)"),
        (torch.zeros(3, 10), r"got shape \(3, 10\) for a batch of shape \(4,\)"),
        ([0.0] * 10, r"CVAE needs a condition c .* got list; convert it with torch.as_tensor"),
        # class labels where c is their one-hot rows: the fix is named
        (torch.tensor([1, 2, 3, 4]), r"got shape \(4,\).*model.condition_from_labels\(labels\)"),
    ],
    ids=["missing", "wrong-width", "wrong-batch", "not-a-tensor", "labels"],
)
def test_bad_condition_is_refused_by_every_method(c, match):
    model = labelled_model()
    x = torch.rand(4, 64)
    calls = [
        lambda: model.encode(x, c),
        lambda: model.decode(torch.randn(4, 3), c),
        lambda: model.prior(c, batch_shape=(4,)),
        lambda: model.sample(4, c),
        lambda: model.reconstruct(x, c),
        lambda: model.transfer(x, torch.eye(10)[:4], c),
        lambda: elbo(model, x, c),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match=match):
            call()


@pytest.mark.parametrize(
    "c, match",
    [
        (torch.arange(10), r"^c holds a value 2; class conditions are one-hot rows"),
        (torch.arange(10).float(), r"^c holds a value 2; .*condition_from_labels\(labels\)$"),
        (torch.eye(10).long()[[0, 1]].sum(0), r"^c holds integer rows that are not one-hot"),
        (torch.eye(10).long()[3], r"^c is 10 integers for a batch of 10 rows: .* c.float\(\)"),
    ],
    ids=["labels", "float-labels", "two-hot-integers", "integers-shaped-as-labels"],
)
def test_labels_shaped_as_one_condition_are_refused_by_every_method(c, match):
    """A batch of ten images of a ten-class model, one per class, with their labels 0..9 as c:
    the (10,) labels have the shape of one condition vector, broadcast to every row, and were
    taken as one: log p(x | c) = −86,709 nats where their one-hot rows give −22.25 (userY #3)."""
    model = labelled_model()
    x = torch.rand(10, 64)
    calls = [
        lambda: model.encode(x, c),
        lambda: model.decode(torch.randn(10, 3), c),
        lambda: model.prior(c, batch_shape=(10,)),
        lambda: model.sample(10, c),
        lambda: elbo(model, x, c),
    ]
    for call in calls:
        with pytest.raises(DataError, match=match):
            call()


def test_one_hot_and_mixed_class_conditions_are_taken():
    """What a class condition is: one-hot rows, integer too (F.one_hot's), one row for the
    whole batch, or a mix of classes (weights in [0, 1]) to explore between them."""
    model = labelled_model()
    x = torch.rand(10, 64)
    mix = torch.zeros(10)
    mix[[3, 8]] = 0.5
    for c in (
        model.condition_from_labels(torch.arange(10)),
        torch.nn.functional.one_hot(torch.arange(10), 10),
        model.condition_from_labels(7),
        torch.nn.functional.one_hot(torch.tensor(7), 10)[None],  # (1, 10): one row, broadcast
        mix,
    ):
        assert elbo(model, x, c).elbo.shape == (10,)
    assert model.encode(x[:4], torch.nn.functional.one_hot(torch.tensor(7), 10)).batch_shape == (4,)


@pytest.mark.parametrize(
    "labels, match",
    [
        ([1, 10], "label 10 is out of range; valid labels are 0..9"),
        (torch.tensor([-1]), "label -1 is out of range; valid labels are 0..9"),
        (["seven"], "unknown class name 'seven'; valid names are 0, 1, 2"),
        (torch.tensor([0.5]), "labels must be integers in 0..9"),
    ],
    ids=["too-large", "negative", "unknown-name", "float-labels"],
)
def test_bad_labels_are_refused(labels, match):
    with pytest.raises(ConfigError, match=match):
        labelled_model().condition_from_labels(labels)


def test_labels_need_a_class_conditional_model():
    model = CVAE(CONFIGS["mlp-standard-prior"])
    with pytest.raises(ConfigError, match="condition_from_labels needs a CVAE built for class"):
        model.condition_from_labels([1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer, got 0"),
        ({"condition_dim": 0}, "condition_dim must be a positive integer, got 0"),
        ({"arch": "conv"}, "arch='conv' needs image_shape"),
        (
            {"prior": "gauss"},
            "prior must be one of 'learned', 'standard', 'vamp', 'mog', got 'gauss'",
        ),
        ({"prior": "vamp", "prior_components": 0}, "prior_components must be a positive"),
        ({"num_classes": 5}, r"num_classes \(5\) must equal condition_dim \(10\)"),
        ({"class_names": ("a", "b")}, "class_names needs num_classes"),
        (
            {"num_classes": 10, "class_names": ("a", "b")},
            "class_names lists 2 names but num_classes is 10",
        ),
        (
            {"num_classes": 10, "class_names": ("a",) * 10},
            "class_names must be distinct non-empty strings",
        ),
    ],
    ids=[
        "latent-0",
        "condition-0",
        "conv-without-image-shape",
        "unknown-prior",
        "no-components",
        "num-classes-mismatch",
        "names-without-classes",
        "names-count",
        "duplicate-names",
    ],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CVAEConfig(**{"input_dim": 64, "condition_dim": 10, **kwargs})


def test_data_with_the_wrong_feature_count_is_refused():
    with pytest.raises(DataError, match="data has 784 features but the model expects 64"):
        labelled_model().encode(torch.rand(2, 784), torch.eye(10)[:2])


def test_conditional_vamp_prior_is_the_mean_of_q_at_the_pseudo_inputs_under_c():
    """p(z | c) = (1/C) Σ_k q(z | u_k, c): each example's own c paired with every u_k."""
    torch.manual_seed(0)
    model = CVAE(CONFIGS["mlp-vamp-prior"])
    c = model.condition_from_labels([0, 3])
    z = torch.randn(5, 2, 3)  # (S, B, K)
    u = model.prior_family.pseudo_inputs  # (C, D)
    expected = []
    for b in range(2):
        q = model.encode(u, c[b])  # batch (C,): q(z | u_k, c_b)
        expected.append(q.log_prob(z[:, b, None, :]).logsumexp(-1) - torch.log(torch.tensor(3.0)))
    log_p = model.prior(c).log_prob(z)
    assert log_p.shape == (5, 2)
    assert torch.allclose(log_p, torch.stack(expected, -1), atol=1e-5)
    assert not torch.allclose(log_p[:, 0], model.prior(c[[1, 1]]).log_prob(z)[:, 0])  # c matters


def test_mixture_priors_draw_from_the_mixture_and_declare_a_monte_carlo_kl():
    torch.manual_seed(0)
    model = CVAE(CONFIGS["conv-8x8-mog"])
    family = model.prior_family
    with torch.no_grad():
        family.loc.copy_(torch.tensor([8.0, -8.0]).repeat_interleave(3).view(2, 3).repeat(25, 1))
        family.pre_scale.fill_(-5.0)  # σ ≈ 0.007: draws sit at ±8
    seen = []
    decode = model.decode
    model.decode = lambda z, c=None: seen.append(z) or decode(z, c)
    c = torch.eye(10)[torch.arange(40) % 10]
    samples = model.sample(40, c, generator=torch.Generator().manual_seed(0))
    again = model.sample(40, c, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (40, 64) and torch.equal(samples, again)
    assert torch.allclose(seen[0].abs(), torch.full((40, 3), 8.0), atol=0.1)
    assert model.kl_method == "mc" and CVAE(CONFIGS["mlp-learned-prior"]).kl_method == "analytic"


@pytest.mark.parametrize("prior", ["vamp", "mog"])
def test_mixture_priors_train_and_save(prior, tmp_path):
    from torchlvm.io import load

    torch.manual_seed(0)
    config = CVAEConfig(64, 10, latent_dim=3, hidden=(16,), prior=prior, prior_components=4)
    model = CVAE(config)
    x, c = torch.rand(8, 64), torch.eye(10)[:8]
    before = [p.detach().clone() for p in model.prior_family.parameters()]
    (-elbo(model, x, c).elbo.mean()).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    after = list(model.prior_family.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    model.save_pretrained(tmp_path / "m")
    loaded = load(tmp_path / "m")
    z = torch.randn(4, 8, 3)
    assert loaded.config == config
    assert torch.allclose(loaded.prior(c).log_prob(z), model.prior(c).log_prob(z))


def test_decode_takes_z_of_any_float_dtype_as_the_models() -> None:
    """As VAE.decode: a float64 z (e.g. from NumPy) for a float32 model, and the reverse."""
    model = CVAE(CVAEConfig(6, 3, latent_dim=2, hidden=(4,), num_classes=3))
    c = model.condition_from_labels([0, 1, 2])
    z = torch.zeros(3, 2, dtype=torch.float64)
    assert model.decode(z, c).mean.dtype == torch.float32
    double = model.double()
    assert double.decode(z.float(), c.double()).mean.dtype == torch.float64


def test_sample_without_c_names_c() -> None:
    """``CVAE.sample(n)`` was Python's 'missing 1 required positional argument', where every
    other method without c names the condition and how to build it."""
    model = CVAE(CVAEConfig(6, 3, latent_dim=2, hidden=(4,), num_classes=3))
    with pytest.raises(ConfigError, match=r"^CVAE needs a condition c .*condition_from_labels"):
        model.sample(2)
    assert model.sample(2, model.condition_from_labels([0, 2])).shape == (2, 6)


GRADES = ("1", "2", "3")  # a table's labels that are numbers, not positions (userL #12)


def classes_model(names: tuple[str, ...]) -> CVAE:
    torch.manual_seed(0)
    size = len(names)
    return CVAE(CVAEConfig(8, size, latent_dim=2, hidden=(4,), num_classes=size, class_names=names))


@pytest.mark.parametrize(
    "label, name",
    [(1, "1"), (3, "3"), ("3", "3"), (2.0, "2"), ("2.0", "2"), (np.int64(1), "1")],
    ids=["int", "int-past-the-positions", "name", "float", "float-text", "numpy"],
)
def test_a_number_names_a_numbered_class_as_the_command_line_reads_it(label, name):
    """condition_from_labels(1) of a CVAE on grades 1, 2, 3 gave class '2' (by position) where
    `--condition 1` gives grade 1, and 3 was 'out of range': a number names a class whose name
    is that number, one rule with the command line's (run.labels.class_index)."""
    model = classes_model(GRADES)
    torch.testing.assert_close(model.condition_from_labels(label), torch.eye(3)[GRADES.index(name)])
    assert model.condition_from_labels([label, "1"]).argmax(-1).tolist() == [GRADES.index(name), 0]


def test_a_tensor_holds_positions_and_a_number_naming_no_class_is_refused():
    model = classes_model(GRADES)
    torch.testing.assert_close(
        model.condition_from_labels(torch.tensor([0, 2])), torch.eye(3)[[0, 2]]
    )
    with pytest.raises(
        ConfigError,
        match=r"^label 0 names no class: the class names are numbers \('1', '2', '3'\), .*; "
        r"pass one of them, or torch.tensor\(0\) for '1' by position$",
    ):
        model.condition_from_labels(0)
    with pytest.raises(ConfigError, match=r"^label 2.5 names no class: .*pass one of them$"):
        model.condition_from_labels([2.5])


def test_a_float_label_of_named_classes_says_what_is_taken():
    """condition_from_labels(7.0) was a bare TypeError ('float' object is not iterable)."""
    model = labelled_model()
    torch.testing.assert_close(model.condition_from_labels(7.0), torch.eye(10)[7])
    words = classes_model(("cat", "dog"))
    torch.testing.assert_close(words.condition_from_labels(1), torch.eye(2)[1])
    with pytest.raises(ConfigError, match=r"^label 1.5 is neither a class name nor a position; "):
        words.condition_from_labels(1.5)


@pytest.mark.parametrize("label", [2, 2.0, "2", "2.0", np.float64(2.0)], ids=str)
def test_a_whole_number_is_a_position_where_no_class_name_is_a_number(label):
    """condition_from_labels(2.0) and ('2') of a CVAE without class names were refused where
    --condition 2.0 and 2 take class 2 (readB #9): a whole number, however written, is a
    position there, as on the command line (run/labels._whole)."""
    unnamed = CVAE(CVAEConfig(4, 3, latent_dim=2, hidden=(8,), num_classes=3))
    torch.testing.assert_close(unnamed.condition_from_labels(label), torch.eye(3)[2])
    torch.testing.assert_close(
        classes_model(("a", "b", "c")).condition_from_labels(label), torch.eye(3)[2]
    )


@pytest.mark.parametrize("label", [1, 1.0, "1", "1.0", np.int64(1)], ids=str)
def test_a_number_is_refused_where_the_words_have_only_a_sorted_order(label):
    """readB #12: a CVAE trained on a file's words a, b, c took condition_from_labels(1) as 'b'
    (position 1 of the sorted names) while `--condition 1` is refused: the config now records
    whether the data number their classes (class_positions), and Python reads it as the CLI."""
    words = CVAE(
        CVAEConfig(4, 3, latent_dim=2, hidden=(8,), num_classes=3, class_names=("a", "b", "c"),
                   class_positions=False)
    )  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"^label .* names no class: the classes \('a', 'b', 'c'\) have no numbers but their "
        r"sorted order, .* as --condition does not read it; pass one of the names, or "
        r"torch.tensor\(1\) for 'b' by position$",
    ):
        words.condition_from_labels(label)
    torch.testing.assert_close(words.condition_from_labels(["b", "C"]), torch.eye(3)[[1, 2]])
    torch.testing.assert_close(words.condition_from_labels(torch.tensor(1)), torch.eye(3)[1])
    with pytest.raises(ConfigError, match=r"^label 1.5 names no class; pass one of the names \("):
        words.condition_from_labels(1.5)
    plain = CVAE(
        CVAEConfig(4, 3, latent_dim=2, hidden=(8,), num_classes=3, class_names=("0", "1", "2"),
                   class_positions=False)
    )  # fmt: skip
    torch.testing.assert_close(plain.condition_from_labels(label), torch.eye(3)[1])


@pytest.mark.parametrize("names", [GRADES, ("a", "b", "c")], ids=["numbered", "words"])
def test_a_list_of_tensors_holds_positions_as_a_tensor_does(names):
    """condition_from_labels(list(y)) of 0-d tensors was refused ('label tensor(1) is neither a
    class name nor a position') after fb5ab93 read every list element as a name (readB #1)."""
    model = classes_model(names)
    y = torch.tensor([2, 0])
    torch.testing.assert_close(model.condition_from_labels(list(y)), torch.eye(3)[[2, 0]])
    torch.testing.assert_close(model.condition_from_labels([y[0], names[1]]), torch.eye(3)[[2, 1]])


def test_a_cvaes_first_prior_imports_no_sympy():
    """out16 #2: the prior's batch shape came from torch.broadcast_shapes, whose first call
    imports sympy (1.5 s), a cost every CVAE command paid, and evaluate's time probe multiplied.
    """
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from torchlvm.models.cvae import CVAE, CVAEConfig\n"
        "m = CVAE(CVAEConfig(6, 3, latent_dim=2, hidden=(8,), num_classes=3))\n"
        "m.prior(torch.eye(3), batch_shape=(3,)).log_prob(torch.zeros(3, 2))\n"
        "assert 'sympy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
