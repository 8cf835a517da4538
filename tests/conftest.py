"""Suite-wide settings.

The tests train tiny models; on a 2-core machine one intra-op thread is several times faster for
them than two (no thread hand-off per small matmul), and it keeps timings steady when other work
shares the cores. Tests that need more threads set them locally.
"""

import torch

torch.set_num_threads(1)
