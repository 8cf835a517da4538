"""``merge_metrics``: evaluate adds its sections to a run's metrics.json without losing what fit
wrote; a damaged file is an error naming it (never silently replaced); a failed write leaves the
old file whole."""

import errno
import json
import os

import pytest

from torchlvm import _files
from torchlvm.errors import DataError
from torchlvm.run.metrics import merge_metrics, read_metrics

FIT = {"model": "ppca", "train_log_likelihood": 17.6, "noise_variance": 0.25, "fit_seconds": 0.1}


def test_merging_keeps_every_key_it_does_not_set(tmp_path):
    _files.write_json(tmp_path / "metrics.json", FIT)
    merged = merge_metrics(tmp_path, {"likelihood": {"quantity": "log p(x)"}, "seconds": {}})
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == merged == {**FIT, "likelihood": {"quantity": "log p(x)"}, "seconds": {}}


def test_a_key_it_sets_is_replaced_whole(tmp_path):
    merge_metrics(tmp_path, {"likelihood": {"elbo": 1, "exact": 2}})
    assert merge_metrics(tmp_path, {"likelihood": {"elbo": 3}}) == {"likelihood": {"elbo": 3}}


def test_owned_keys_a_new_evaluation_lacks_are_removed_and_others_kept(tmp_path):
    _files.write_json(tmp_path / "metrics.json", {**FIT, "outliers": {"sets": {}}})
    merged = merge_metrics(tmp_path, {"likelihood": {}}, replaces=("likelihood", "outliers"))
    assert merged == {**FIT, "likelihood": {}}


def test_a_missing_file_is_created(tmp_path):
    assert read_metrics(tmp_path) is None
    merge_metrics(tmp_path, {"a": 1})
    assert read_metrics(tmp_path) == {"a": 1}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"train_log_likelihood": 17.6, ', "metrics.json is damaged"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ("\udcff", "metrics.json is damaged"),
    ],
    ids=["truncated", "not-an-object", "not-utf8"],
)
def test_a_damaged_file_is_an_error_naming_it_and_is_left_alone(tmp_path, content, message):
    path = tmp_path / "metrics.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    before = path.read_bytes()
    with pytest.raises(DataError, match=message) as caught:
        merge_metrics(tmp_path, {"likelihood": {}})
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)
    assert path.read_bytes() == before


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    _files.write_json(tmp_path / "metrics.json", FIT)
    before = (tmp_path / "metrics.json").read_bytes()

    def no_space(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(_files.os, "replace", no_space)
    with pytest.raises(OSError, match="No space left on device"):
        merge_metrics(tmp_path, {"likelihood": {}})
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_merge_stamps_the_weights_it_measured(tmp_path):
    """After 'train --resume', the run's metrics.json and figures described the model before it,
    and the report showed them as the run's: each merge now records the weights' SHA-256."""
    import hashlib

    from torchlvm.run.metrics import measured_on_other_weights

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"epoch 3")
    merged = merge_metrics(tmp_path, {"likelihood": {"elbo": -30.0}})
    assert merged["meta"] == {"weights_sha256": hashlib.sha256(b"epoch 3").hexdigest()}
    assert not measured_on_other_weights(tmp_path, merged)
    weights.write_bytes(b"epoch 8")  # training resumed
    assert measured_on_other_weights(tmp_path, read_metrics(tmp_path))
    merged = merge_metrics(tmp_path, {"likelihood": {"elbo": -27.0}})  # evaluated again
    assert not measured_on_other_weights(tmp_path, merged)


@pytest.mark.parametrize(
    "metrics", [None, {}, {"meta": "x"}, {"meta": {}}], ids=["none", "empty", "odd", "unstamped"]
)
def test_a_document_without_a_stamp_claims_nothing(tmp_path, metrics):
    from torchlvm.run.metrics import measured_on_other_weights

    (tmp_path / "model.safetensors").write_bytes(b"w")
    assert not measured_on_other_weights(tmp_path, metrics)


def test_weights_gone_or_unreadable_since_the_stamp_claim_nothing(tmp_path):
    """A stamped metrics.json beside no model.safetensors was said to describe weights changed
    'since (training resumed)', which is not what happened; an unreadable one raised OSError."""
    from torchlvm.run.metrics import measured_on_other_weights

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"w")
    merged = merge_metrics(tmp_path, {"x": 1})
    weights.unlink()
    assert not measured_on_other_weights(tmp_path, merged)
    weights.mkdir()  # open() of it raises IsADirectoryError, as an unreadable file would
    assert not measured_on_other_weights(tmp_path, merged)


def test_a_run_without_weights_gets_no_stamp(tmp_path):
    assert "meta" not in merge_metrics(tmp_path, {"x": 1})
