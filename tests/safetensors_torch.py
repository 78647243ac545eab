#!/usr/bin/python3
"""safetensors_torch.py: loads an aiwae safetensors export into a PyTorch module shaped like the
original implementation's (encoder.transform / fc_mu / fc_logsigma, decoder.transform) and checks
that it computes aiwae's log p(x,h) and q(h|x) parameters.

usage: safetensors_torch.py MODEL.safetensors CHECK.bin
CHECK.bin (written by tests/test_safetensors.c): int32 B, K, D, H, then float32 x [B,D],
h [B*K,H], log p(x,h) [B*K], mu [B,H], log sigma [B,H] (little-endian).
The file is parsed by hand (JSON header + numpy.frombuffer): the `safetensors` package is not
needed. Exit status 0 when every value agrees to a relative 1e-5, 1 otherwise."""
import json
import math
import struct
import sys

import numpy as np
import torch
from torch import nn

HIDDEN = [200, 200]  # the paper's deterministic layers


class Encoder(nn.Module):
    def __init__(self, D, hidden, H):
        super().__init__()
        layers, prev = [], D
        for w in hidden:
            layers += [nn.Linear(prev, w), nn.Tanh()]
            prev = w
        self.transform = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(prev, H)
        self.fc_logsigma = nn.Linear(prev, H)

    def forward(self, x):
        t = self.transform(x)
        return self.fc_mu(t), self.fc_logsigma(t)


class Decoder(nn.Module):
    def __init__(self, H, hidden, D):
        super().__init__()
        layers, prev = [], H
        for w in reversed(hidden):
            layers += [nn.Linear(prev, w), nn.Tanh()]
            prev = w
        layers.append(nn.Linear(prev, D))
        self.transform = nn.Sequential(*layers)

    def forward(self, h):
        return self.transform(h)  # Bernoulli logits


class VAE(nn.Module):
    def __init__(self, D, hidden, H):
        super().__init__()
        self.encoder = Encoder(D, hidden, H)
        self.decoder = Decoder(H, hidden, D)


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata) after checking the layout."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = buf[8 + n:]
    sizes = {"F32": 4, "F64": 8}
    tensors, spans = {}, []
    for name, t in header.items():
        b, e = t["data_offsets"]
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        assert e - b == count * sizes[t["dtype"]], name
        dt = "<f4" if t["dtype"] == "F32" else "<f8"
        tensors[name] = np.frombuffer(data[b:e], dtype=dt).reshape(t["shape"]).copy()
        spans.append((b, e))
    spans.sort()
    at = 0
    for b, e in spans:
        assert b == at, "tensors must tile the data section"
        at = e
    assert at == len(data), "data section has trailing bytes"
    return tensors, meta


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        raw = f.read()
    B, K, D, H = struct.unpack("<4i", raw[:16])
    arr = np.frombuffer(raw[16:], dtype="<f4")
    sizes = [B * D, B * K * H, B * K, B * H, B * H]
    parts, at = [], 0
    for s in sizes:
        parts.append(arr[at:at + s])
        at += s
    assert at == arr.size, "check file size"
    x = parts[0].reshape(B, D).copy()
    h = parts[1].reshape(B * K, H).copy()
    logp_aiwae, mu_aiwae, ls_aiwae = parts[2], parts[3].reshape(B, H), parts[4].reshape(B, H)

    model = VAE(D, HIDDEN, H)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)  # names and shapes must be exactly the module's
    model = model.double()
    with torch.no_grad():
        xt = torch.from_numpy(np.repeat(x, K, axis=0)).double()
        ht = torch.from_numpy(h).double()
        a = model.decoder(ht)
        log_prior = (-0.5 * ht ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
        log_lik = (xt * a - nn.functional.softplus(a)).sum(1)
        logp = (log_prior + log_lik).numpy()
        mu, ls = model.encoder(torch.from_numpy(x).double())
    ok = True
    for what, ours, theirs in (("log p(x,h)", logp_aiwae, logp), ("mu", mu_aiwae, mu.numpy()),
                               ("log sigma", ls_aiwae, ls.numpy())):
        ours = ours.astype(np.float64).ravel()
        theirs = np.asarray(theirs).ravel()
        rel = np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs))
        print("%s: %d values, max |aiwae - torch| = %.3g, max relative %.3g" %
              (what, ours.size, np.abs(ours - theirs).max(), rel.max()))
        ok &= bool(rel.max() <= 1e-5)
    print("metadata:", {k: (v if len(v) < 40 else v[:37] + "...") for k, v in meta.items()})
    print("PyTorch check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
