#!/usr/bin/python3
"""peer_torch.py: the PyTorch (CPU) peer of aiwae's benchmarks: the same model, steps and evaluations,
written the way a careful PyTorch user would, timed the same way, so that tests/bench/compare can put
aiwae's throughput next to PyTorch's.

Model (Ding & Freedman 2019): encoder 784 -> 200 tanh -> 200 tanh -> [mu 50 | log sigma 50], decoder
50 -> 200 tanh -> 200 tanh -> 784 Bernoulli logits, prior N(0, I). Inputs: random binary images,
each pixel on with probability 0.13 (as tests/bench/bench.c makes them).

Benchmarks (names as in the C programs' `BENCH <name> <value>` lines):
  iwae_train_b20    IWAE training step, K=5, B=20, Adam(lr 1e-3, eps 1e-4)      points/s
  iwae_train_b128   the same with B=128                                          points/s
  aiwae_train_b128  AIWAE step, B=128, K=5, T=5 temperatures, L=5 leapfrog steps points/s
  iwae5000_eval     IWAE bound with 5000 samples, 32 points per call            points/s
  ais_eval          AIS, 256 points x 16 chains, L=10, per temperature step      chain-leapfrog steps/s

Configurations (--config): `default` is Debian's python3-torch as installed; `tuned` adds the OpenMP
OpenBLAS (one thread pool for GEMMs and element-wise kernels), glibc malloc that keeps freed buffers,
ATen kernels at AVX-512 and flush-to-zero. These must be in place before torch is loaded, so the script
re-executes itself once with that environment. --bf16 multiplies in bfloat16 (fp32 results).
OPENBLAS_CORETYPE passes through: compare sets it where aiwae-run does, so that both sides run the same
OpenBLAS kernels (OpenBLAS 0.3.21 runs its SSE3 ones on CPUs it does not know).

Output: a table on stdout; --json PATH writes {"env": {...}, "bench": {name: {"median_s", "points_per_s"
or "chain_leapfrog_steps_per_s", ...}}}, which compare reads. Exit status 77 when torch is not installed.
"""
import argparse
import contextlib
import ctypes
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time

BENCHES = ["iwae_train_b20", "iwae_train_b128", "aiwae_train_b128", "iwae5000_eval", "ais_eval"]
TUNED_ENV = {
    "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp",
    "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=4294967296:glibc.malloc.mmap_threshold=4294967296",
    "ATEN_CPU_CAPABILITY": "avx512",
    "PEER_FTZ": "1",
}
# Every variable a configuration decides; the caller's values of these are dropped.
CONTROLLED = list(TUNED_ENV) + ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
MARK = "PEER_TORCH_CHILD"
D, HID, H = 784, 200, 50
LOG2PI = math.log(2 * math.pi)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=["tuned", "default"], default="tuned")
    ap.add_argument("--threads", type=int, default=2, help="torch and BLAS threads (default 2)")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of the benchmarks")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions; the median is reported")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 repetition of a few calls each")
    ap.add_argument("--bf16", action="store_true", help="bfloat16 GEMMs with fp32 results")
    ap.add_argument("--json", metavar="PATH", help="write the results to PATH")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-chunk", type=int, default=250, help="IWAE-5000: samples per decoder pass")
    ap.add_argument("--ais-temps", type=int, default=20, help="AIS: temperatures per timed run")
    a = ap.parse_args()
    unknown = [b for b in a.only.split(",") if b and b not in BENCHES]
    if unknown:
        ap.error("unknown benchmark(s) %s; known: %s" % (",".join(unknown), ",".join(BENCHES)))
    if a.threads < 1 or a.reps < 1:
        ap.error("--threads and --reps must be at least 1")
    return a


def reexec(args):
    """Runs this script again under the configuration's environment; returns in that child only."""
    if os.environ.get(MARK) == args.config:
        return
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    if args.config == "tuned":
        env.update(TUNED_ENV)
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    env[MARK] = args.config
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


class Peer:
    """The model and its steps, with GEMMs in fp32 or (--bf16) bfloat16."""

    def __init__(self, torch, bf16):
        self.t = torch
        nn = torch.nn
        self.enc = nn.Sequential(nn.Linear(D, HID), nn.Tanh(), nn.Linear(HID, HID), nn.Tanh(),
                                 nn.Linear(HID, 2 * H))
        self.dec = nn.Sequential(nn.Linear(H, HID), nn.Tanh(), nn.Linear(HID, HID), nn.Tanh(),
                                 nn.Linear(HID, D))
        self.bf16 = bf16
        self.cache = {}

    def params(self):
        return list(self.enc.parameters()) + list(self.dec.parameters())

    def autocast(self):
        return self.t.autocast("cpu", dtype=self.t.bfloat16) if self.bf16 else contextlib.nullcontext()

    def _w(self, lin):
        """The layer's weight in the GEMM type (bf16 copies kept while the weight is unchanged)."""
        w = lin.weight
        if not self.bf16:
            return w
        hit = self.cache.get(id(w))
        if hit is None or hit[0] != w._version:
            hit = (w._version, w.detach().to(self.t.bfloat16))
            self.cache[id(w)] = hit
        return hit[1]

    def _lin(self, lin, a):
        t = self.t
        if self.bf16:
            return t.addmm(lin.bias.to(t.bfloat16), a.to(t.bfloat16), self._w(lin).t()).float()
        return t.addmm(lin.bias, a, lin.weight.t())

    def _back(self, g, lin):
        return self.t.mm(g.to(self.t.bfloat16), self._w(lin)).float() if self.bf16 else self.t.mm(g, lin.weight)

    def q(self, x):
        o = self.enc(x)
        return o[:, :H], o[:, H:]

    def log_px(self, hf, s):
        """log p(x | h) without gradients; hf [N, H], s = 2x - 1 broadcast to [.., B, D]."""
        l1, l2, l3 = self.dec[0], self.dec[2], self.dec[4]
        z = self._lin(l3, self._lin(l2, self._lin(l1, hf).tanh_()).tanh_())
        return z.view(-1, *s.shape).mul_(s).clamp_(min=-80.0).sigmoid_().log_().sum(-1)

    def log_joint_grad(self, h, s):
        """log p(x, h) and its gradient in h, by hand (3 forward and 3 input-gradient GEMMs); h [C, B, H]."""
        C, B, _ = h.shape
        l1, l2, l3 = self.dec[0], self.dec[2], self.dec[4]
        hf = h.reshape(C * B, H)
        a1 = self._lin(l1, hf).tanh_()
        a2 = self._lin(l2, a1).tanh_()
        p = self._lin(l3, a2).view(C, B, D).mul_(s).clamp_(min=-80.0).sigmoid_()  # P(the observed pixel)
        lp = p.log().sum(-1) - 0.5 * (h * h).sum(-1) - 0.5 * H * LOG2PI
        g = (s - p * s).view(C * B, D)                                             # d/dz = x - sigmoid(z)
        g = self._back(g, l3).mul_(1 - a2 * a2)
        g = self._back(g, l2).mul_(1 - a1 * a1)
        return lp, (self._back(g, l1) - hf).view(C, B, H)


def bern_loglik(torch):
    class BernLogLik(torch.autograd.Function):
        """sum_j log Bernoulli(x_j; sigmoid(z_j)) = sum_j log sigmoid(s_j z_j), s = 2x - 1."""
        @staticmethod
        def forward(ctx, z, s):
            p = (z * s).clamp_(min=-80.0).sigmoid_()
            ctx.save_for_backward(p, s)
            return p.log().sum(-1)

        @staticmethod
        def backward(ctx, g):
            p, s = ctx.saved_tensors
            return (s - p * s).mul_(g.unsqueeze(-1)), None
    return BernLogLik.apply


def hmc(peer, state, qp, s, beta, eps, L):
    """One HMC transition (L leapfrog steps, Metropolis test) for q(h|x)^(1-beta) p(x,h)^beta; the state
    (h, log p, its gradient, log q) is cached so that a transition costs L decoder gradients."""
    t = peer.t
    h, lp, glp, lq = state
    mu, inv_var, lsig = qp

    def energy_grad(hh, lpp, glpp):
        dv = (hh - mu) * inv_var
        lqq = -0.5 * ((hh - mu) * dv).sum(-1) - lsig - 0.5 * H * LOG2PI
        return lqq, (1 - beta) * dv - beta * glpp
    _, gU = energy_grad(h, lp, glp)
    p0 = t.randn_like(h)
    p = p0 - 0.5 * eps * gU
    hn = h
    for i in range(L):
        hn = hn + eps * p
        lpn, glpn = peer.log_joint_grad(hn, s)
        lqn, gU = energy_grad(hn, lpn, glpn)
        p = p - (eps if i < L - 1 else 0.5 * eps) * gU
    dH = -(beta * lpn + (1 - beta) * lqn) + 0.5 * (p * p).sum(-1) + (beta * lp + (1 - beta) * lq) \
        - 0.5 * (p0 * p0).sum(-1)
    acc = t.rand_like(dH) < t.exp(-dH)
    a = acc.unsqueeze(-1)
    return (t.where(a, hn, h), t.where(acc, lpn, lp), t.where(a, glpn, glp), t.where(acc, lqn, lq)), acc


def ais_start(peer, x, s, C):
    """C draws from q(h|x) per point, with log p, its gradient and log q."""
    t = peer.t
    mu, ls = peer.q(x)
    e = t.randn(C, *mu.shape)
    h = mu + ls.exp() * e
    lsig = ls.sum(-1)
    lp, glp = peer.log_joint_grad(h, s)
    lq = -0.5 * (e * e).sum(-1) - lsig - 0.5 * H * LOG2PI
    return (h, lp, glp, lq), (mu, (-2 * ls).exp(), lsig)


def iwae_step(peer, opt, ll, x, s, K):
    t = peer.t
    with peer.autocast():
        mu, ls = (v.float() for v in peer.q(x))                  # the encoder once per data point
    e = t.randn(K, *mu.shape)
    h = mu + ls.exp() * e
    with peer.autocast():
        z = peer.dec(h.view(-1, H)).float().view(K, x.shape[0], D)
    logw = ll(z, s) - 0.5 * (h * h).sum(-1) + 0.5 * (e * e).sum(-1) + ls.sum(-1)
    loss = -(t.logsumexp(logw, 0) - math.log(K)).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def aiwae_step(peer, opts, ll, x, s, K, betas, eps, L):
    """AIS over K chains per point gives normalised weights; the decoder maximises the weighted log
    likelihood of the final states, the encoder a one-sample VAE bound with analytic KL."""
    t = peer.t
    enc_opt, dec_opt = opts
    with t.no_grad():
        st, qp = ais_start(peer, x, s, K)
        logw = t.zeros_like(st[1])
        for k in range(1, len(betas)):
            logw += (betas[k] - betas[k - 1]) * (st[1] - st[3])
            st, acc = hmc(peer, st, qp, s, betas[k], eps[k], L)
            rate = acc.float().mean().item()
            eps[k] = min(max(eps[k] * (1.002 if rate > 0.6 else 0.998), 0.001), 0.3)
        w = t.softmax(logw, 0)
    with peer.autocast():
        z = peer.dec(st[0].reshape(-1, H)).float().view(K, x.shape[0], D)
    dec_loss = -(w * ll(z, s)).sum(0).mean()
    dec_opt.zero_grad(set_to_none=True)
    dec_loss.backward()
    dec_opt.step()
    with peer.autocast():
        mu, ls = (v.float() for v in peer.q(x))
    hz = mu + ls.exp() * t.randn_like(mu)
    with peer.autocast():
        zz = peer.dec(hz).float()
    kl = 0.5 * (mu * mu + (2 * ls).exp() - 1 - 2 * ls).sum(-1)
    enc_loss = (kl - ll(zz, s)).mean()
    enc_opt.zero_grad(set_to_none=True)
    enc_params = list(peer.enc.parameters())
    enc_loss.backward(inputs=enc_params)
    enc_opt.step()


def iwae_bound(peer, x, s, S, chunk):
    t = peer.t
    with t.no_grad():
        mu, ls = peer.q(x)
        sig, c = ls.exp(), ls.sum(-1)
        parts = []
        for c0 in range(0, S, chunk):
            n = min(chunk, S - c0)
            e = t.randn(n, *mu.shape)
            h = t.addcmul(mu, sig, e)
            parts.append(peer.log_px(h.view(-1, H), s) - 0.5 * (h * h).sum(-1) + 0.5 * (e * e).sum(-1) + c)
        return t.logsumexp(t.cat(parts), 0) - math.log(S)


def timed(fn, warmup, reps, inner):
    """Median, minimum and all of reps timings of inner calls each (seconds per call)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
    return {"median_s": statistics.median(ts), "min_s": min(ts), "all_s": ts, "inner": inner}


def run(args, torch):
    ftz = os.environ.get("PEER_FTZ") == "1" and torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    quick = args.quick
    reps = 1 if quick else args.reps
    ll = bern_loglik(torch)
    adam = lambda ps: torch.optim.Adam(ps, lr=1e-3, eps=1e-4)

    def images(n):
        x = (torch.rand(n, D) < 0.13).float()
        return x, 2 * x - 1

    out = {}
    only = args.only.split(",")
    for name, B, inner in (("iwae_train_b20", 20, 100), ("iwae_train_b128", 128, 30)):
        if name in only:
            peer = Peer(torch, args.bf16)
            opt = adam(peer.params())
            data = [images(B) for _ in range(16)]
            it = iter(range(1 << 62))
            inner = 2 if quick else inner
            r = timed(lambda: iwae_step(peer, opt, ll, *data[next(it) % 16], 5), inner // 2, reps, inner)
            r["points_per_s"] = B / r["median_s"]
            out[name] = r
    if "aiwae_train_b128" in only:
        peer = Peer(torch, args.bf16)
        opts = (adam(list(peer.enc.parameters())), adam(list(peer.dec.parameters())))
        betas = [k / 4 for k in range(5)]
        eps = [0.1] * 5
        data = [images(128) for _ in range(8)]
        it = iter(range(1 << 62))
        r = timed(lambda: aiwae_step(peer, opts, ll, *data[next(it) % 8], 5, betas, eps, 5), 1 if quick else 3,
                  reps, 1 if quick else 4)
        r["points_per_s"] = 128 / r["median_s"]
        out["aiwae_train_b128"] = r
    if "iwae5000_eval" in only:
        peer = Peer(torch, args.bf16)
        x, s = images(32)
        r = timed(lambda: iwae_bound(peer, x, s, 5000, args.eval_chunk), 1, reps, 1)
        r["points_per_s"] = 32 / r["median_s"]
        out["iwae5000_eval"] = r
    if "ais_eval" in only:
        peer = Peer(torch, args.bf16)
        x, s = images(256)
        T = 3 if quick else args.ais_temps
        betas = [k / (T - 1) for k in range(T)]
        ts = []
        for _ in range(reps + 1):                                   # the first run warms up
            with torch.no_grad():
                st, qp = ais_start(peer, x, s, 16)
                eps = 0.1
                t0 = time.perf_counter()
                for b in betas[1:]:
                    st, acc = hmc(peer, st, qp, s, b, eps, 10)
                    eps = min(max(eps * (1.002 if acc.float().mean().item() > 0.6 else 0.998), 0.02), 0.3)
                ts.append((time.perf_counter() - t0) / (T - 1))
        ts = ts[1:]
        r = {"median_s": statistics.median(ts), "min_s": min(ts), "all_s": ts, "inner": T - 1}
        r["chain_leapfrog_steps_per_s"] = 256 * 16 * 10 / r["median_s"]
        out["ais_eval"] = r
    cap = [l.split(":")[-1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    try:  # the BLAS torch's fp32 products run on (Debian: libblas.so.3, OpenBLAS's OpenMP build when tuned)
        corename = ctypes.CDLL("libblas.so.3").openblas_get_corename
        corename.restype = ctypes.c_char_p
        core = corename().decode()
    except (OSError, AttributeError):
        core = "?"
    env = {"config": args.config, "threads": torch.get_num_threads(), "torch": torch.__version__,
           "python": platform.python_version(), "aten_cpu_capability": cap[0] if cap else "?",
           "flush_denormal": bool(ftz), "bf16": args.bf16, "quick": quick, "openblas_core": core,
           "config_env": {k: os.environ[k] for k in CONTROLLED if k in os.environ}}
    return {"env": env, "bench": out}


def main():
    args = parse_args()
    if importlib.util.find_spec("torch") is None:
        print("peer_torch: PyTorch is not installed for %s (apt-get install python3-torch); no peer numbers"
              % sys.executable, file=sys.stderr)
        return 77
    reexec(args)
    import torch
    res = run(args, torch)
    e = res["env"]
    print("PyTorch %s, config %s, %d threads, ATen %s, OpenBLAS core %s, FTZ %s%s" % (
          e["torch"], e["config"], e["threads"], e["aten_cpu_capability"], e["openblas_core"], e["flush_denormal"],
          ", bf16" if e["bf16"] else ""))
    print("| benchmark | ms/call | throughput |")
    print("|---|---:|---:|")
    for name, r in res["bench"].items():
        unit = "chain_leapfrog_steps_per_s" if name == "ais_eval" else "points_per_s"
        print("| %s | %.3f | %.4g %s |" % (name, r["median_s"] * 1e3, r[unit], unit.replace("_per_s", "/s")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
