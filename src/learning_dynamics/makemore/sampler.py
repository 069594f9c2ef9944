"""Minibatch indices for the makemore study: the seed's exact `randperm` stream, or i.i.d. draws.

The seed takes `torch.randperm(182625)[:32]` every step: a Fisher–Yates shuffle that draws 182624
Mersenne-Twister words and swaps a 1.4 MB array to use 32 entries. Its first 32 entries depend only
on the first 32 words, so `BatchSampler("randperm")` reads those from the generator's state,
replays the 32 swaps that matter and skips the other words by filling a scratch tensor: ~0.33 ms a
step, against ~1.6 ms for randperm itself. The skip is the floor, so it runs ahead of the
training in a helper process: in a thread it would contend for the GIL with the training loop's
many small torch calls (measured: training 35% slower), in its own process it takes a core of
its own. This module imports only numpy and torch, which is all the helper needs.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import torch

# ---- the randperm stream from raw MT19937 words ---------------------------------------------


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ (y >> 11)
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


def _twist(key: np.ndarray) -> np.ndarray:
    """MT19937's next state (624 untempered words) after `key`. New word i reads words i, i + 1
    and i + 397 of the state as it stands when i is rewritten: old words ahead of i, new ones
    behind. In `ext` = old words then new ones, those are ext[i], ext[i + 1] and ext[i + 397]
    either way, so blocks of 227 words (all of whose inputs are known) run vectorised."""
    n, m = 624, 397
    ext = np.concatenate([key, np.zeros(n, key.dtype)])
    for start in range(0, n, n - m):
        i = np.arange(start, min(n, start + n - m))
        y = (ext[i] & 0x80000000) | (ext[i + 1] & 0x7FFFFFFF)
        ext[n + i] = ext[i + m] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
    return ext[n:]


def peek_words(generator: torch.Generator, k: int) -> np.ndarray:
    """The next k 32-bit words of a CPU torch.Generator, without drawing them, read from its
    state (legacy layout {seed u64, left i32, seeded i32, next u64, state[624] u64, ...}): the
    rest of the current twist, then as many next twists as k needs."""
    raw = generator.get_state().numpy()
    left = int(raw[8:12].view(np.int32)[0])  # words left in this twist, plus one
    key = raw[24 : 24 + 624 * 8].view(np.uint64)
    parts = [key[625 - left :][:k]]
    have = len(parts[0])
    while have < k:
        key = _twist(key)
        parts.append(key[: k - have])
        have += len(parts[-1])
    return _temper(np.concatenate(parts))


def first_of_permutation(z: np.ndarray) -> np.ndarray:
    """First k entries of a forward Fisher–Yates shuffle of 0..n-1 (swap i with i + z[:, i]), for
    every row of z (rows × k): only the ≤ 2k positions the first k swaps touch are tracked."""
    rows, k = z.shape
    out = np.empty((rows, k), np.int64)
    pos = np.full((rows, k), -1, np.int64)  # position written by swap m ...
    val = np.empty((rows, k), np.int64)  # ... and the value it received

    def value_at(p: np.ndarray, m: int) -> np.ndarray:
        hit = pos[:, :m] == p[:, None]
        last = m - 1 - np.argmax(hit[:, ::-1], axis=1) if m else np.zeros(rows, np.int64)
        found = hit.any(axis=1) if m else np.zeros(rows, bool)
        return np.where(found, val[np.arange(rows), last], p)

    for i in range(k):
        j = i + z[:, i]
        vi, vj = value_at(np.full(rows, i), i), value_at(j, i)
        out[:, i] = vj  # position i is final after swap i
        pos[:, i], val[:, i] = j, vi
    return out


def randperm_block(generator: torch.Generator, n: int, k: int, rows: int) -> np.ndarray:
    """`torch.randperm(n, generator=generator)[:k]` for `rows` steps in a row, (rows, k), leaving
    the generator where those randperm calls would."""
    pairs, odd = divmod(n - 1, 2)  # randperm(n) draws n - 1 words
    words, word = torch.empty(pairs, dtype=torch.int64), torch.empty(odd, dtype=torch.int64)
    z = np.empty((rows, k), np.int64)
    for r in range(rows):
        z[r] = peek_words(generator, k) % (n - np.arange(k, dtype=np.uint64))
        words.random_(generator=generator)  # two words per int64 entry
        if odd:
            word.random_(0, 2, generator=generator)  # one word
    return first_of_permutation(z)


# ---- the helper process -----------------------------------------------------------------------


class _Helper:
    """A child process (`python -m learning_dynamics.makemore.sampler`) drawing randperm blocks;
    requests go down its stdin and blocks come back on its stdout, in order. A plain subprocess
    rather than multiprocessing: spawn would re-run the caller's main script, fork would copy a
    process that runs torch's and the history writer's threads."""

    def __init__(self, n: int, k: int, rows: int) -> None:
        command = [sys.executable, "-m", __name__, str(n), str(k), str(rows)]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pending = 0  # requests not yet answered

    def request(self, state: np.ndarray | None) -> None:
        """Ask for the next block; `state` restarts the stream from there."""
        pickle.dump(state, self.proc.stdin)
        self.proc.stdin.flush()
        self.pending += 1

    def receive(self) -> tuple[np.ndarray, np.ndarray]:
        """The oldest requested block and the generator state after it."""
        try:
            block = pickle.load(self.proc.stdout)
        except EOFError:
            code = self.proc.wait()
            raise RuntimeError(f"the sampler's helper process died (exit code {code})") from None
        self.pending -= 1
        return block

    def close(self) -> None:
        self.proc.stdin.close()  # the helper exits at end of input
        self.proc.stdout.close()
        self.proc.wait()


def _serve(n: int, k: int, rows: int) -> None:
    """The helper's loop: answer each request (None, or a state to restart from) with a block,
    until the sampler closes the pipes."""
    torch.set_num_threads(1)
    generator = torch.Generator()
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    try:
        while True:
            state = pickle.load(requests)
            if state is not None:
                generator.set_state(torch.from_numpy(state))
            block = randperm_block(generator, n, k, rows)
            pickle.dump((block, generator.get_state().numpy()), replies)
            replies.flush()
    except (EOFError, BrokenPipeError):  # closed: the prefetched block is not needed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit


# ---- the sampler ------------------------------------------------------------------------------


class BatchSampler:
    """Minibatch indices, a block of steps at a time. `randperm` gives exactly the seed's
    `torch.randperm(n, generator=g)[:batch]` for every step; `randint` i.i.d. indices from g.
    Each block of indices moves to `device`; the draws stay on CPU generators.

    `randperm` blocks are drawn by a helper process, one block ahead of the training, from a
    copy of g's state (g itself stays where it was). `state_dict` holds the generator state after
    the block in use, never the helper's."""

    def __init__(
        self,
        kind: str,
        n: int,
        batch: int,
        generator: torch.Generator,
        block: int = 1000,
        device: torch.device | str = "cpu",
    ) -> None:
        if kind not in ("randperm", "randint"):
            raise ValueError(f"unknown sampler {kind!r}; choose randperm or randint")
        self.kind, self.n, self.batch, self.block = kind, n, batch, block
        self.generator, self.device = generator, torch.device(device)
        self.indices = torch.empty(0, batch, dtype=torch.int64, device=self.device)
        self.start = 0
        self.after = generator.get_state()  # the stream's state after the block in use
        self.helper = _Helper(n, batch, block) if kind == "randperm" else None

    def __call__(self, step: int) -> torch.Tensor:
        """Indices of step `step` (steps must be asked for in order; re-asking is free)."""
        if not self.start <= step < self.start + len(self.indices):
            if step != self.start + len(self.indices):
                raise ValueError(f"sampler asked for step {step} after block at {self.start}")
            indices, self.after = self._next_block()
            self.start, self.indices = step, indices.to(self.device)
        return self.indices[step - self.start]

    def _next_block(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind == "randint":  # cheap: drawn here
            g = self.generator
            return torch.randint(self.n, (self.block, self.batch), generator=g), g.get_state()
        helper = self.helper
        if not helper.pending:  # first block, or after a restore: start the helper from `after`
            helper.request(self.after.numpy().copy())
        helper.request(None)  # the helper goes straight on to the block after
        indices, state = helper.receive()
        return torch.from_numpy(indices), torch.from_numpy(state)

    def state_dict(self) -> dict[str, Any]:
        return {"indices": self.indices, "start": self.start, "torch": self.after}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "mt_key" in state:  # written before the sampler drew from g itself
            raise ValueError("sampler state of an older version; cannot resume")
        while self.helper and self.helper.pending:  # blocks of the old stream
            self.helper.receive()
        self.indices = state["indices"].to(self.device, copy=True)
        self.start = int(state["start"])
        self.after = state["torch"].clone()
        if self.kind == "randint":
            self.generator.set_state(self.after)

    def close(self) -> None:
        """Stop the helper process (also done when the sampler is garbage-collected; a helper
        whose parent died exits at the end of its input)."""
        helper, self.helper = getattr(self, "helper", None), None
        if helper:
            helper.close()

    __del__ = close


if __name__ == "__main__":  # the helper process
    _serve(*map(int, sys.argv[1:]))
