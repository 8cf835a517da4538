"""A run trained on a table written decomposed (Unicode NFD, as macOS writes 'Größe' and
'Kätze') reads a later copy saved composed (NFC) as the same table: its columns and its classes
(userJ #19); and what a command writes back keeps the later file's own letters."""

from __future__ import annotations

import csv
import unicodedata

import numpy as np
import torch

from torchlvm import cli
from torchlvm.data.table_schema import TableSchema
from torchlvm.models import CVAE, CVAEConfig


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


ROWS = [("1.5", "2.5", "Kätze"), ("-1.5", "-2.5", "Hund"), ("0.5", "1.0", "Kätze")]


def test_a_cvae_encodes_a_composed_copy_under_its_decomposed_classes(tmp_path):
    """Each row of the composed copy was refused ('holds class 'Kätze', which the run was not
    trained on') or, before that, its column 'Größe' was 'lacking'."""
    torch.manual_seed(0)
    names = (nfd("Hund"), nfd("Kätze"))
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=names)  # fmt: skip
    table = TableSchema((nfd("Größe"), "b"), label_column=nfd("Säugetier"))
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": list(names), "table": table.to_dict()}  # fmt: skip
    model = CVAE(config)
    model.save_pretrained(tmp_path / "cvae", data=data)
    path = tmp_path / "nfc.csv"
    lines = ["Größe,b,Säugetier", *(",".join(row) for row in ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "codes.csv"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--data", str(path), "--out", str(out)]) == 0
    got = np.array([row[2:4] for row in list(csv.reader(out.open(encoding="utf-8")))[1:]], float)
    x = torch.tensor([[float(a), float(b)] for a, b, _ in ROWS])
    c = model.condition_from_labels([nfd(kind) for _, _, kind in ROWS])
    np.testing.assert_allclose(got, model.encode(x, c).mean.detach().numpy(), rtol=1e-6)


def test_impute_fills_a_composed_copy_and_writes_its_header_as_it_came(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(100, 3))
    body = "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in x)
    trained = tmp_path / "nfd.csv"
    trained.write_text(f"{nfd('Größe')},{nfd('Gewicht_kg')},b\n" + body, encoding="utf-8")
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(trained), "--latent-dim", "1", "--out", str(run)]
    assert cli.main(argv) == 0
    holes = body.splitlines()
    holes[3] = "," + holes[3].split(",", 1)[1]  # an empty cell of 'Größe'
    later = tmp_path / "nfc.csv"
    text = "Größe,Gewicht_kg,b\n" + "\n".join(holes) + "\n"
    later.write_text(text, encoding="utf-8")
    out = tmp_path / "filled.csv"
    assert cli.main(["impute", str(run), "--data", str(later), "--out", str(out)]) == 0
    filled = out.read_text(encoding="utf-8").splitlines()
    assert filled[0] == "Größe,Gewicht_kg,b"  # composed, as the later file writes it
    assert filled[1:4] + filled[5:] == text.splitlines()[1:4] + text.splitlines()[5:]
    decomposed = tmp_path / "nfd_holes.csv"
    decomposed.write_text(text.replace("Größe", nfd("Größe")), encoding="utf-8")
    again = tmp_path / "again.csv"
    assert cli.main(["impute", str(run), "--data", str(decomposed), "--out", str(again)]) == 0
    assert filled[4] == again.read_text(encoding="utf-8").splitlines()[4] != holes[3]
