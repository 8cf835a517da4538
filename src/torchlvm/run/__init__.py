"""The one owner of a run folder (DESIGN.md, "A run directory").

Every command reads and writes run folders only through this package:

- :mod:`torchlvm.run.layout`: the names of a run's files and :class:`RunLayout`, their paths.

This ``__init__`` imports nothing heavy, so that low layers (training) can import
:mod:`torchlvm.run.layout` without a cycle.
"""
