"""`torchlvm datasets`: what is available, where, and how to get what is missing."""

from torchlvm.cli import main


def test_lists_builtin_and_missing_data_with_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCHLVM_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    digits = next(line for line in lines if line.startswith("digits"))
    assert "available" in digits
    text = "\n".join(lines)
    mnist = text[text.index("\nmnist") :]
    assert "looked in:" in mnist and str(tmp_path / "data" / "mnist") in mnist
    assert "to get it:" in mnist
    assert ".npy, .npz or .csv" in text


def test_help_lists_every_command(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in ("datasets", "fit", "train", "sample", "evaluate", "gaps", "kl-demo", "report"):
        assert f"    {name}" in out
