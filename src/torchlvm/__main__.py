"""``python -m torchlvm``: the ``torchlvm`` command (as ``python -m torchlvm.cli``)."""

import sys

from torchlvm.cli import main

sys.exit(main())
