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
    # every file --data reads, the tables too (it said ".npy, .npz or .csv" only)
    assert "file is accepted as --data too: .npy, .npz, .csv, .tsv, .csv.gz, .tsv.gz." in text


def test_help_lists_every_command(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in ("datasets", "fit", "train", "sample", "evaluate", "gaps", "kl-demo", "report"):
        assert f"    {name}" in out


def test_a_folder_given_shows_what_it_holds_or_why_it_is_damaged(tmp_path, capsys):
    import numpy as np

    folder = tmp_path / "mine"
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (3, 2, 2))
    labels = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    for part in ("train", "t10k"):
        (folder / f"{part}-images-idx3-ubyte").write_bytes(header + np.zeros(12, "u1").tobytes())
        (folder / f"{part}-labels-idx1-ubyte").write_bytes(labels)
    assert main(["datasets", "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"at {folder}: 6 images of 2x2" in out
    (folder / "t10k-images-idx3-ubyte").write_bytes(header)  # the pixels cut off
    assert main(["datasets", "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    mnist = out.split("\nmnist")[1]  # the same folder as fashion-mnist's, which says why
    assert mnist.split()[0] == "damaged" and f"at {folder}: the files of fashion-mnist" in mnist
    fashion = out.split("\nfashion-mnist")[1].split("\n", 2)
    assert fashion[0].split()[0] == "damaged" and "cannot be read:" in fashion[1]


def test_one_folder_of_idx_files_is_described_once_usable_as_either_name(tmp_path, capsys):
    """userH: `datasets --data-dir mydata/mnist` claimed the one folder held Fashion-MNIST
    too, and said 70,000 and 4,000 at once: the folder is described once, the other name
    refers to it, and the standard set's count is said as the standard set's."""
    import numpy as np

    folder = tmp_path / "mydata" / "mnist"
    folder.mkdir(parents=True)
    for part, n in (("train", 3), ("t10k", 1)):
        images = bytes([0, 0, 8, 3]) + b"".join(k.to_bytes(4, "big") for k in (n, 2, 2))
        labels = bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(range(n))
        (folder / f"{part}-images-idx3-ubyte").write_bytes(images + np.zeros(4 * n, "u1").tobytes())
        (folder / f"{part}-labels-idx1-ubyte").write_bytes(labels)
    assert main(["datasets", "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count(f"at {folder}: 4 images of 2x2 (the standard fashion-mnist has 70,000)") == 1
    assert (
        f"at {folder}: the files of fashion-mnist above (nothing in IDX files says which set they "
        "are: --data fashion-mnist and --data mnist read the same images)" in out
    )
    assert out.count("4 images") == 1
