#!/usr/bin/python3
"""import_torch.py: a model made by PyTorch, evaluated by aiwae (tests/cli_import.sh).

usage: import_torch.py make MODEL.safetensors D H W1[,W2..]
       import_torch.py check MODEL.safetensors TEST.idx THRESHOLD S DB
make: builds the original implementation's architecture (tests/safetensors_torch.py: encoder.transform,
fc_mu, fc_logsigma, decoder.transform) with PyTorch's own initialization (seed 7) and saves
model.state_dict() as safetensors (by hand: the `safetensors` package is not needed).
check: computes the IWAE bound -log (1/S) sum_s p(x,h_s)/q(h_s|x), h_s ~ q(h|x), of every test point in
PyTorch (float64), reads aiwae's per-point iwae_bound values from the results database DB (one run, one
evaluation) and checks that their paired mean difference is within 4 standard errors of 0 (both are Monte
Carlo estimates of the same expectation). Exit status 0 when it is, 1 otherwise."""
import json
import math
import sqlite3
import struct
import sys

import numpy as np
import torch
from torch import nn


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


class Decoder(nn.Module):
    def __init__(self, H, hidden, D):
        super().__init__()
        layers, prev = [], H
        for w in reversed(hidden):
            layers += [nn.Linear(prev, w), nn.Tanh()]
            prev = w
        layers.append(nn.Linear(prev, D))
        self.transform = nn.Sequential(*layers)


class VAE(nn.Module):
    def __init__(self, D, hidden, H):
        super().__init__()
        self.encoder = Encoder(D, hidden, H)
        self.decoder = Decoder(H, hidden, D)


def save_safetensors(path, state):
    header, blobs, at = {}, [], 0
    for name, t in state.items():
        b = t.detach().cpu().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = buf[8 + n:]
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4")
                                .reshape(v["shape"]).copy()) for k, v in header.items()}


def read_idx_images(path, threshold):
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[0] == 0 and buf[1] == 0 and buf[2] == 8, "expected an IDX file of unsigned bytes"
    nd = buf[3]
    dims = struct.unpack(">%dI" % nd, buf[4:4 + 4 * nd])
    px = np.frombuffer(buf[4 + 4 * nd:], dtype=np.uint8).reshape(dims[0], -1)
    return ((px.astype(np.float32) / np.float32(255.0)) > np.float32(threshold)).astype(np.float64)


def make(path, D, H, hidden):
    torch.manual_seed(7)
    model = VAE(D, hidden, H)
    save_safetensors(path, model.state_dict())
    return 0


def iwae_bound(model, x, S, gen):
    with torch.no_grad():
        t = model.encoder.transform(x)
        mu, ls = model.encoder.fc_mu(t), model.encoder.fc_logsigma(t)
        eps = torch.randn((S,) + mu.shape, generator=gen, dtype=torch.float64)
        h = mu + torch.exp(ls) * eps  # [S, B, H]
        log_q = (-0.5 * eps ** 2 - ls - 0.5 * math.log(2 * math.pi)).sum(-1)
        a = model.decoder.transform(h)
        log_prior = (-0.5 * h ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_lik = (x * a - nn.functional.softplus(a)).sum(-1)
        logw = log_prior + log_lik - log_q
        return -(torch.logsumexp(logw, 0) - math.log(S)).numpy()


def check(path, idx, threshold, S, db):
    state = load_safetensors(path)
    D = state["encoder.transform.0.weight"].shape[1]
    H = state["encoder.fc_mu.weight"].shape[0]
    hidden, i = [], 0
    while "encoder.transform.%d.weight" % i in state:
        hidden.append(state["encoder.transform.%d.weight" % i].shape[0])
        i += 2
    model = VAE(D, hidden, H)
    model.load_state_dict(state, strict=True)
    model = model.double()
    x = torch.from_numpy(read_idx_images(idx, threshold))
    gen = torch.Generator().manual_seed(11)
    theirs = iwae_bound(model, x, S, gen)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute("SELECT idx, value FROM eval_points WHERE estimator = 'iwae_bound' AND settings LIKE ? "
                       "ORDER BY idx", ("{samples: %d,%%" % S,)).fetchall()
    con.close()
    ours = np.array([v for _, v in rows])
    if len(rows) != len(theirs) or [i for i, _ in rows] != list(range(len(theirs))):
        print("aiwae has %d points, PyTorch %d" % (len(rows), len(theirs)))
        return 1
    d = ours - theirs
    se = d.std(ddof=1) / math.sqrt(len(d))
    print("IWAE bound (S=%d, %d points): aiwae %.4f, PyTorch %.4f, paired difference %.4f +- %.4f (SE)" %
          (S, len(d), ours.mean(), theirs.mean(), d.mean(), se))
    ok = abs(d.mean()) <= 4 * se and se > 0
    print("PyTorch IWAE check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "make":
        return make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [int(w) for w in sys.argv[5].split(",")])
    if len(sys.argv) == 7 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
