"""``cli/_table_rows.write_rows``: the rows sample, reconstruct and transfer write for a table."""

import csv

import torch

from torchlvm.cli._table_rows import write_rows
from torchlvm.data.csv_form import NumberForm
from torchlvm.data.table_schema import TableSchema
from torchlvm.models import VAE, VAEConfig
from torchlvm.run import load_run


def _run(tmp_path, forms):
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    schema = TableSchema(("age", "income", "share"), forms=forms)
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "table": schema.to_dict()}
    return load_run(vae.save_pretrained(tmp_path / "vae", data=data))


def test_each_column_is_written_as_the_training_file_writes_it(tmp_path):
    """userA: sample wrote 21.764956371137593 in a column of whole numbers."""
    forms = (NumberForm(places=0), NumberForm(places=2, least=2, grouping=","), NumberForm())
    out = tmp_path / "rows.csv"
    rows = torch.tensor([[21.764956371137593, 1234.5, 0.125], [40.2, 987654.25, 3.0]])
    write_rows(out, _run(tmp_path, forms), ("age", "income", "share"), rows)
    lines = list(csv.reader(out.open()))
    assert lines == [["age", "income", "share"], ["22", "1,234.50", "0.125"],
                     ["40", "987,654.25", "3.0"]]  # fmt: skip


def test_a_run_recorded_without_forms_is_written_as_computed(tmp_path):
    out = tmp_path / "rows.csv"
    rows = torch.tensor([[21.75, 2.5, 1.0]])
    write_rows(out, _run(tmp_path, ()), ("age", "income", "share"), rows)
    assert list(csv.reader(out.open()))[1] == ["21.75", "2.5", "1.0"]
