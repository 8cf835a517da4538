"""The one owner of a run folder (its files: :mod:`torchlvm.run.layout`).

Every command reads and writes run folders only through this package:

- :mod:`torchlvm.run.layout`: the names of a run's files and :class:`RunLayout`, their paths;
- :mod:`torchlvm.run.record`: the run record (``config.json``, ``checkpoints/run.json``);
- :mod:`torchlvm.run.publish`: the overwrite policy; a new run built in a staging folder and
  renamed into place;
- :mod:`torchlvm.run.resume`: adoption of an interrupted new run; the lock a resume holds;
- :mod:`torchlvm.run.lock`: one writer per run, and readers that wait for it;
- :mod:`torchlvm.run.outputs`: the output files of commands, checked before any work is done;
- :mod:`torchlvm.run.loaded`: a run loaded for use: its model and its record's data section;
- :mod:`torchlvm.run.split`: the run's data as its model sees it, a split, a batch at a time;
- :mod:`torchlvm.run.labels`: a CVAE's conditions and the class labels commands take.

The names below are re-exported from those modules. None of them imports the training code, so
that training can import :mod:`torchlvm.run` without a cycle.
"""

from torchlvm.run.labels import (
    conditions,
    label_name,
    model_phrase,
    parse_labels,
    require_class_conditions,
    training_mask,
    valid_labels,
)
from torchlvm.run.layout import RunLayout, holds_run, stage_path
from torchlvm.run.loaded import Run, load_run
from torchlvm.run.lock import RunLock, acquire, check_not_busy
from torchlvm.run.outputs import labels_file, output_file, torchlvm_figure, write_npy
from torchlvm.run.publish import Staging, check_new_target, staged_run
from torchlvm.run.record import read_record
from torchlvm.run.resume import adopt_interrupted, resuming
from torchlvm.run.split import (
    image_shape,
    in_batches,
    load_split,
    model_view,
    needs_shape_from_data,
    protocol_note,
)

__all__ = [
    "Run",
    "RunLayout",
    "RunLock",
    "Staging",
    "acquire",
    "adopt_interrupted",
    "check_new_target",
    "check_not_busy",
    "conditions",
    "holds_run",
    "image_shape",
    "in_batches",
    "label_name",
    "labels_file",
    "load_run",
    "load_split",
    "model_phrase",
    "model_view",
    "needs_shape_from_data",
    "output_file",
    "parse_labels",
    "protocol_note",
    "read_record",
    "require_class_conditions",
    "resuming",
    "stage_path",
    "staged_run",
    "torchlvm_figure",
    "training_mask",
    "valid_labels",
    "write_npy",
]
