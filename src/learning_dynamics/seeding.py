"""Seeds are explicit config values; this seeds every global RNG the seed notebooks used."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch's global RNGs; return a torch Generator on the same seed."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds replicate notebooks that use the global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
