"""Seeds: explicit config values, turned into independent per-run streams by hashing."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def derive_seed(root: int, *names: object) -> int:
    """A 31-bit seed for the stream named `names` under `root` (stable across runs and machines)."""
    text = "/".join([str(root), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch's global RNGs; return a torch Generator on the same seed."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds replicate notebooks that use the global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
