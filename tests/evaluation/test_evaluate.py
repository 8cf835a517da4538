"""``evaluate`` end to end on small models: every number is labelled, each kind of model gets the
sections that exist for it (and says why the others do not), results repeat with the seed, and
bad arguments are refused before any work."""

import math
import re

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError, OptionError
from torchlvm.evaluation import EvalConfig, Evaluation, evaluate, features
from torchlvm.models import CVAE, PPCA, VAE, Autoencoder, AutoencoderConfig, CVAEConfig, VAEConfig

SMALL = dict(k=50, ks=(1, 10), n=80, ood=("noise", "flip"), ood_k=10)


@pytest.fixture(scope="module", autouse=True)
def small_world(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on a shared machine: threads only contend
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHLVM_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(features, "TRAIN_STEPS", 400)  # a quick classifier is enough here
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def test_data():
    return load_dataset("digits", "test", binarize="dynamic")


@pytest.fixture(scope="module")
def val_data():
    return load_dataset("digits", "val", binarize="dynamic")


def vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,))).eval()


def leaves(tree, path=()):
    """Every dict in ``tree`` that holds a "value", with its path."""
    if isinstance(tree, dict):
        if "value" in tree:
            yield path, tree
        for key, sub in tree.items():
            if key != "value":
                yield from leaves(sub, (*path, key))


def run(model, data, val_dataset=None, **settings):
    """``evaluate`` with ``EvalConfig(**settings)``, as the JSON that metrics.json holds."""
    result = evaluate(model, data, EvalConfig(**settings), val_dataset=val_dataset)
    assert isinstance(result, Evaluation)
    return result.to_json()


def test_every_number_is_labelled(test_data, val_data):
    m = run(vae(), test_data, val_dataset=val_data, **dict(SMALL, n=150))
    assert {"protocol", "likelihood", "reconstruction", "latent", "separability"} <= set(m)
    assert {"sample_quality", "outliers", "seconds"} <= set(m)
    found = list(leaves(m))
    assert len(found) > 30
    for path, record in found:
        assert record["kind"] in ("exact", "bound", "estimate", "measured", "undefined"), path
        assert record["kind"] == "undefined" or record.get("unit"), path
    p = m["protocol"]
    assert (p["data"], p["split"], p["binarize"], p["n"], p["seed"]) == (
        "digits", "test", "dynamic", 150, 0,
    )  # fmt: skip
    assert p["split_rows"] == len(test_data) > 150  # 150 of them: said as such (userA)
    log_px = m["likelihood"]["log_marginal"]["nats"]
    assert log_px["k"] == 50 and log_px["stderr"] > 0 and 1 <= log_px["ess"] <= 50
    assert m["likelihood"]["elbo"]["bits_per_dim"]["unit"] == "bits/dim"
    assert 0 <= m["outliers"]["sets"]["noise"]["score"]["auroc"]["value"] <= 1
    assert "typicality" in m["outliers"]["sets"]["flip"]
    assert m["separability"]["latent"]["logistic"]["unit"] == "accuracy"


def test_results_repeat_with_the_seed_and_change_without(test_data):
    options = dict(SMALL, sample_quality=False, separability=False, ood=())
    a = run(vae(), test_data, seed=3, **options)
    b = run(vae(), test_data, seed=3, **options)
    c = run(vae(), test_data, seed=4, **options)
    value = lambda m: m["likelihood"]["log_marginal"]["nats"]["value"]  # noqa: E731
    assert value(a) == value(b) and value(a) != value(c)


def test_the_global_random_state_is_left_alone(test_data):
    model = vae()
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    run(model, test_data, **dict(SMALL, sample_quality=False, separability=False, ood=()))
    assert torch.equal(torch.rand(3), expected)


def test_autoencoder_has_no_likelihood_and_says_why(test_data):
    torch.manual_seed(0)
    config = AutoencoderConfig(input_dim=64, latent_dim=4, hidden=(32,), reconstruction="bernoulli")
    model = Autoencoder(config).eval()
    m = run(model, test_data, **SMALL)
    assert m["likelihood"]["kind"] == "undefined"
    assert "undefined for a deterministic autoencoder" in m["likelihood"]["note"]
    assert "rate" not in m["latent"] and m["latent"]["active_units"]["value"] >= 0
    assert "reconstruction error" in m["outliers"]["score_description"]
    assert "N(0, I) codes" in m["sample_quality"]["frechet"]["note"]
    assert m["sample_quality"]["frechet_fitted_codes"]["kind"] == "undefined"


def test_ais_on_an_autoencoder_is_refused_as_refine_is(test_data):
    config = AutoencoderConfig(input_dim=64, latent_dim=4, hidden=(32,), reconstruction="bernoulli")
    model = Autoencoder(config).eval()
    with pytest.raises(
        OptionError, match=r"^ais_steps estimates log p\(x\) by AIS, .* autoenc"
    ) as err:
        run(model, test_data, **dict(SMALL, ais_steps=5))
    assert err.value.on_command_line.startswith("--ais estimates log p(x)")
    assert "leave out --ais, or train a VAE" in err.value.on_command_line


def test_ppca_reports_the_exact_likelihood(test_data):
    """A PPCA's log p(x) is exact, and its q the exact posterior: an importance-sampled estimate
    of it at k = 1000 only approached the closed form (review11 #4); none is drawn, and each IWAE
    bound, of its own draws, is log p(x) itself (w = p(x, z) / p(z | x) = p(x))."""
    grey = load_dataset("digits", "test")
    model = PPCA(latent_dim=5).fit(load_dataset("digits", "train").x)
    m = run(model, grey, **dict(SMALL, sample_quality=False, ood=()))
    like = m["likelihood"]
    assert like["exact"]["nats"]["kind"] == "exact" and "log_marginal" not in like
    exact = like["exact"]["nats"]["value"]
    assert [bound["nats"]["value"] for bound in like["iwae"].values()] == pytest.approx(
        [exact] * len(like["iwae"]), abs=1e-9
    )
    assert all("one draw of" in bound["nats"]["note"] for bound in like["iwae"].values())
    assert m["latent"]["active_units"]["value"] == 5


def test_ppca_scores_outliers_by_its_exact_likelihood(test_data):
    """PPCA's outlier score was importance-sampled ('k=100') beside its exact log p(x) in the
    likelihood section: it is the exact −log p(x), the likelihood section's number."""
    grey = load_dataset("digits", "test")
    model = PPCA(latent_dim=5).fit(load_dataset("digits", "train").x)
    m = run(model, grey, **dict(SMALL, sample_quality=False, ood=("noise",), n=None))
    outliers = m["outliers"]
    assert outliers["score_description"].startswith("−log p(x), exact (closed form) (higher")
    mean_in = outliers["sets"]["noise"]["mean_score_in"]
    assert mean_in == pytest.approx(-m["likelihood"]["exact"]["nats"]["value"], rel=1e-12)


def test_one_example_leaves_what_needs_two_undefined(test_data):
    """Evaluating one example (a 10-image file's 8/1/1 split) printed active units '0 of 4',
    AUROCs of one comparison and a spread over examples of 0: each number that needs a spread
    or a ranking over at least 2 examples is undefined, saying why and what to do."""
    m = run(vae(), test_data, **dict(SMALL, n=1))
    assert m["protocol"]["n"] == 1
    assert m["latent"]["active_units"]["kind"] == "undefined"
    for section in ("outliers", "sample_quality"):
        assert m[section]["kind"] == "undefined"
        assert "needs at least 2 examples, and 1 was evaluated" in m[section]["note"]
    assert "data_stderr" not in m["likelihood"]["log_marginal"]["nats"]  # none, not 0
    assert (
        "data_stderr"
        in run(vae(), test_data, **dict(SMALL, n=2, ood=()))["likelihood"]["log_marginal"]["nats"]
    )


def test_ppca_scores_its_test_rows_once(test_data, monkeypatch):
    """The outlier pass computed the test rows' exact log p(x) a second time, after the
    likelihood section had: each row of the test split and of the OOD set is scored once."""
    grey = load_dataset("digits", "test")
    model = PPCA(latent_dim=5).fit(load_dataset("digits", "train").x)
    rows, log_marginal = [], model.log_marginal
    monkeypatch.setattr(model, "log_marginal", lambda x: rows.append(len(x)) or log_marginal(x))
    run(model, grey, **dict(SMALL, sample_quality=False, ood=("noise",), n=60))
    assert sum(rows) == 60 + 60  # the test rows, the noise set


def test_the_record_names_the_fitted_k_after_set_params(test_data):
    """set_params changes latent_dim for the next fit (scikit-learn's contract); the fitted W
    is still K = 5, and the record describes the model evaluated."""
    grey = load_dataset("digits", "test")
    model = PPCA(latent_dim=5).fit(load_dataset("digits", "train").x)
    model.set_params(latent_dim=9)
    result = evaluate(model, grey, EvalConfig(**dict(SMALL, sample_quality=False, ood=())))
    assert result.model.latent_dim == 5


def test_label_cvae_gets_conditional_likelihood_and_accuracy(test_data):
    torch.manual_seed(0)
    config = CVAEConfig(input_dim=64, condition_dim=10, latent_dim=4, hidden=(32,), num_classes=10)
    options = dict(SMALL, ood=("noise",), n=None)  # (every class 5 times at least: probes)
    m = run(CVAE(config).eval(), test_data, condition="label", **options)
    assert m["likelihood"]["quantity"] == "log p(x | c)"
    accuracy = m["sample_quality"]["conditional_accuracy"]
    assert accuracy["unit"] == "accuracy" and 0 <= accuracy["value"] <= 1
    assert "Σ_c π_c p(x | c)" in m["outliers"]["score_description"]
    assert "encoder given the class c" in m["separability"]["note"]  # its probes read it back


def test_label_cvae_reports_log_px_over_its_classes_which_its_ood_score_reuses(test_data):
    """userU #3: a label CVAE's log p(x) = log Σ_c π_c p(x | c) of the test rows was computed
    for the outlier score only; it is the likelihood section's too, with its k, n and errors,
    and the outlier score of the test rows is that same number, not drawn again."""
    torch.manual_seed(0)
    config = CVAEConfig(input_dim=64, condition_dim=10, latent_dim=4, hidden=(32,), num_classes=10)
    model = CVAE(config).eval()
    options = dict(SMALL, ood=("noise",), n=60, sample_quality=False, separability=False)
    m = run(model, test_data, condition="label", **options)
    over = m["likelihood"]["log_px_over_classes"]["nats"]
    assert (over["kind"], over["k"], over["n"], over["classes"]) == ("estimate", 10, 60, 10)
    assert over["unit"] == "nats/example" and over["stderr"] > 0 and over["data_stderr"] > 0
    assert "log p(x) = log Σ_c π_c p(x | c), the marginal over the 10 classes" in over["note"]
    assert over["value"] == pytest.approx(-m["outliers"]["sets"]["noise"]["mean_score_in"])
    assert m["likelihood"]["log_px_over_classes"]["bits_per_dim"]["unit"] == "bits/dim"
    without = run(model, test_data, condition="label", **dict(options, ood=()))
    assert without["likelihood"]["log_px_over_classes"]["nats"]["value"] == over["value"]
    assert "log_px_over_classes" not in run(vae(), test_data, **options)["likelihood"]


def test_imputation_cvae_gets_the_missing_part_likelihood(test_data):
    torch.manual_seed(0)
    model = CVAE(CVAEConfig(input_dim=64, condition_dim=128, latent_dim=4, hidden=(32,))).eval()
    options = dict(SMALL, sample_quality=False, ood=(), n=None)
    m = run(model, test_data, condition="mask:top", **options)
    imputation = m["imputation"]["nats"]
    assert imputation["kind"] == "estimate" and "not a negative ELBO" in imputation["note"]
    assert m["imputation"]["bits_per_dim"]["missing_dims"] == 32
    assert math.isfinite(imputation["value"])
    assert m["likelihood"]["quantity"] == "log p(x | x_o)"
    assert m["separability"]["note"].startswith("probes on posterior means E_q[z|x];")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be a positive integer, got 0"),
        ({"n": 0}, "n must be a positive integer"),
        ({"refine_steps": -1}, "refine_steps must be a non-negative integer"),
        ({"condition": "colour"}, "condition must be"),
        ({"chunk": 0}, "chunk must be a positive integer"),
        ({"ks": ()}, "ks must hold at least one"),
        ({"ood": "noise"}, "ood must be a sequence"),
        ({"ood_resize": "cubic"}, "ood_resize must be one of"),
    ],
    ids=["k-zero", "n-zero", "negative-refine", "unknown-condition", "chunk-zero", "no-ks",
         "ood-string", "unknown-resize"],
)  # fmt: skip
def test_bad_settings_are_refused_when_the_config_is_made(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EvalConfig(**kwargs)


def test_a_config_that_is_not_an_eval_config_is_refused(test_data):
    fix = r"build one with .*EvalConfig\(\*\*settings\)"
    with pytest.raises(ConfigError, match=rf"config must be an EvalConfig, got dict; {fix}"):
        evaluate(vae(), test_data, {"k": 10})


def test_the_record_reads_back_what_it_wrote(test_data, val_data):
    """One schema: the JSON of a full evaluation reads back into an equal record."""
    result = evaluate(vae(), test_data, EvalConfig(**SMALL), val_dataset=val_data)
    again = Evaluation.from_json(result.to_json())
    assert again.to_json() == result.to_json()
    assert again.likelihood.log_marginal.nats.k == 50
    assert again.outliers.sets["noise"].score.auroc.extra["chance"] == 0.5
    assert result.protocol.device == "cpu" and result.protocol.chunk >= 1


def test_an_ood_set_of_another_shape_fails_before_any_metric(test_data, monkeypatch):
    from torchlvm.errors import DataError
    from torchlvm.evaluation import likelihood

    def must_not_run(*args, **kwargs):
        raise AssertionError("the likelihood ran before the OOD sets were checked")

    monkeypatch.setattr(likelihood, "per_example_likelihood", must_not_run)
    options = dict(SMALL, ood=("fashion-mnist",), ood_resize="none")
    with pytest.raises(DataError, match="resize"):
        run(vae(), test_data, **options)


@pytest.mark.parametrize("standardized, units", [(True, "standardized units"), (False, "data's")])
def test_a_tables_reconstruction_error_names_the_units_it_is_in(standardized, units):
    from torchlvm.evaluation.reconstruction import summarize_reconstruction

    out = summarize_reconstruction(
        {"sq_error": torch.tensor([1.0, 3.0])}, dim=4, table=True, standardized=standardized
    )
    assert units in out["mse_per_example"]["note"] and out["mse_per_pixel"]["value"] == 0.5


def test_an_ood_file_of_one_row_is_skipped_saying_why(tmp_path):
    """evaluate --ood one.csv (a single row) gave an AUROC of that one row against the test
    rows, printed as a detection result ('all 1 rows'): it is skipped, naming score, which
    scores one row."""
    rng = torch.Generator().manual_seed(0)
    rows = torch.randn(200, 5, generator=rng).tolist()
    table, one = tmp_path / "t.csv", tmp_path / "one.csv"
    table.write_text("a,b,c,d,e\n" + "".join(",".join(f"{v:.4f}" for v in r) + "\n" for r in rows))
    one.write_text("a,b,c,d,e\n" + ",".join(f"{v:.4f}" for v in rows[0]) + "\n")
    model = PPCA(latent_dim=2).fit(load_dataset(str(table), "train").x)
    config = dict(k=10, ks=(1,), ood=(str(one),), sample_quality=False, n=None)
    outliers = run(model, load_dataset(str(table), "test"), **config)["outliers"]
    assert outliers["sets"] == {}
    reason = outliers["skipped"][str(one)]
    assert "needs at least 2 rows, and 1 was evaluated; score one row" in reason


@pytest.mark.parametrize(
    ("settings", "matched"),
    [({"prior": "mog", "prior_components": 3}, True), ({"posterior": "full"}, False)],
    ids=["mixture-prior", "full-q"],
)
def test_the_latent_section_labels_how_each_kl_was_found(test_data, settings, matched):
    """A VAE with a mixture prior (or a flow q) has no closed-form KL, yet metrics.json called
    its kl_total and rate 'exact, analytic', and its per-dimension KLs, of Gaussians matched to
    the mixture's marginals, 'exact' (userB). A full Gaussian q's KL is analytic and its 1-D
    marginals are Gaussian: those stay exact."""
    torch.manual_seed(0)
    config = VAEConfig(input_dim=64, latent_dim=3, hidden=(16,), **settings)
    latent = run(VAE(config).eval(), test_data, **dict(SMALL, ood=(), sample_quality=False))[
        "latent"
    ]
    if matched:
        assert latent["kl_total"]["kind"] == "estimate" and latent["kl_total"]["k"] == 50
        assert latent["kl_total"]["stderr"] > 0 and "Monte Carlo" in latent["kl_total"]["note"]
        assert latent["rate"]["kind"] == "estimate"
        assert latent["kl_per_dim"]["kind"] == "approximation"
        assert "matched to each 1-D marginal" in latent["kl_per_dim"]["note"]
    else:
        assert latent["kl_total"]["kind"] == "exact" and latent["kl_per_dim"]["kind"] == "exact"
    assert latent["distortion"]["kind"] == "estimate" and latent["distortion"]["k"] == 50
    assert "the mean of 50 draws of z per example" in latent["distortion"]["note"]  # (userW #1)


def test_an_unlabelled_table_is_told_it_is_a_table(tmp_path):
    """Sample quality on an unlabelled table said 'the data has no class labels', as if labels
    would give a table a Fréchet distance (userA): the table's reason comes first."""
    rows = torch.randn(60, 4, generator=torch.Generator().manual_seed(0)).tolist()
    table = tmp_path / "t.csv"
    table.write_text("a,b,c,d\n" + "".join(",".join(f"{v:.4f}" for v in r) + "\n" for r in rows))
    model = PPCA(latent_dim=2).fit(load_dataset(str(table), "train").x)
    m = run(model, load_dataset(str(table), "test"), **dict(SMALL, ood=(), n=None))
    assert m["sample_quality"]["note"].startswith("the data are a table")


def test_a_frechet_distance_of_fewer_examples_than_features_is_undefined(test_data):
    """userB: at n = 3 the Fréchet distance of 64-d features was printed, its real-vs-real floor
    above the model's value (covariances of rank 2): below features + 1 examples it is
    undefined, naming how many to evaluate."""
    m = run(vae(), test_data, **dict(SMALL, n=10, ood=(), separability=False))
    quality = m["sample_quality"]
    assert quality["kind"] == "undefined"
    assert re.search(
        r"covariances of (\d+) classifier features.*rank 9.*at least \d+", quality["note"]
    )


def test_grey_levels_for_a_bernoulli_model_name_the_load_that_binarizes_them():
    """userI #10: evaluate() on a split loaded with binarize='none' (load_dataset's default) for
    a Bernoulli model was refused deep in the likelihood, naming torch.bernoulli(x), which a
    Dataset has no place for: the refusal names the load."""
    from torchlvm.errors import DataError

    grey = load_dataset("digits", "test")
    with pytest.raises(DataError, match=r"load_dataset\('digits', 'test', binarize='dynamic'\)"):
        evaluate(vae(), grey, EvalConfig(**SMALL))
    binarized = load_dataset("digits", "test", binarize="dynamic")
    assert evaluate(vae(), binarized, EvalConfig(**dict(SMALL, ood=()))).likelihood is not None


def test_the_distortion_says_the_draws_of_z_it_is_the_mean_of(test_data):
    """userW #1: the distortion (and a Monte Carlo rate) was labelled 'k': 2, 'the mean of 2
    draws of z per example'; it is the ELBO's E_q term, from its draws (50 at k = 50)."""
    m = run(vae(), test_data, **dict(SMALL, ood=(), sample_quality=False, separability=False))
    distortion, elbo = m["latent"]["distortion"], m["likelihood"]["elbo"]["nats"]
    assert distortion["k"] == elbo["draws"] == 50
    assert "the mean of 50 draws of z per example" in distortion["note"]
    assert distortion["stderr"] == pytest.approx(elbo["stderr"], rel=1e-6)


def test_rows_of_features_have_their_squared_error_per_feature_not_per_pixel():
    """userW #2: the report of a VAE of a 2-column ring (.npy of rows, not a table) said
    'squared error per pixel', where evaluate's table said 'per feature'."""
    from torchlvm.data.dataset import Dataset

    torch.manual_seed(0)
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    rows = Dataset(x, None, "ring.npy", "test", (2,), None, None, "none")
    model = VAE(VAEConfig(input_dim=2, latent_dim=1, hidden=(8,), likelihood="gaussian")).eval()
    options = dict(SMALL, ood=(), n=None, sample_quality=False, separability=False)
    reconstruction = run(model, rows, **options)["reconstruction"]
    assert reconstruction["mse_per_pixel"]["unit"] == "squared error/feature"
    assert reconstruction["mse_per_example"]["unit"] == "squared error/example"
    images = run(vae(), load_dataset("digits", "test", binarize="dynamic"), **options)
    assert images["reconstruction"]["mse_per_pixel"]["unit"] == "squared error/pixel"
