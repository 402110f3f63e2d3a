"""The paper's Algorithm 1 in numpy, or with LIBRARY=torch in PyTorch float64 on the GPU (the CPU when there is none):
best-of-REPEATS seconds and the marginal error (eq. 59) of the Hessian formed from the potentials f.npy, g.npy;
"Infinity Infinity" when PyTorch runs out of GPU memory.
Usage: algorithm_one.py DIR EPS TAU REPEATS [LIBRARY]
"""
import sys, os, time
import numpy as np
d = sys.argv[1]
eps = float(sys.argv[2]); tau = float(sys.argv[3]); repeats = int(sys.argv[4])
library = sys.argv[5] if len(sys.argv) > 5 else "numpy"
arrays = [np.load(os.path.join(d, k + ".npy")) for k in ("x", "y", "f", "g", "a", "b")]
if library == "torch":
    import torch
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    xp, cat = torch, torch.cat
    x, y, f, g, a, b = (torch.from_numpy(v).to(dev) for v in arrays)
    zeros = lambda shape: torch.zeros(shape, dtype=torch.float64, device=dev)
    eye = lambda k: torch.eye(k, dtype=torch.float64, device=dev)
    arange = lambda k: torch.arange(k, device=dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    out_of_memory = torch.cuda.OutOfMemoryError
else:
    xp, cat = np, np.concatenate
    x, y, f, g, a, b = arrays
    zeros, eye, arange, sync = np.zeros, np.eye, np.arange, (lambda: None)
    out_of_memory = MemoryError
def hessian():
    n, dim = x.shape; m = y.shape[0]
    diff = x[:, None, :] - y[None, :, :]
    P = a[:, None] * b[None, :] * xp.exp((f[:, None] + g[None, :] - (diff ** 2).sum(-1)) / eps)
    r = P.sum(1); s = P.sum(0)
    H = cat([cat([xp.diag(r), P], 1), cat([P.T, xp.diag(s)], 1)], 0)
    lam, V = xp.linalg.eigh(H)
    keep = lam > tau
    grad_c = 2.0 * diff
    R = zeros((n + m, n, dim))
    R[arange(n), arange(n), :] = xp.einsum("kj,kjd->kd", P, grad_c)
    R[n:, :, :] = xp.einsum("kj,kjd->jkd", P, grad_c)
    B = R.reshape(n + m, n * dim).T @ (V[:, keep] / xp.sqrt(lam[keep]))
    hess = (B @ B.T / eps).reshape(n, dim, n, dim)
    block = -xp.einsum("kj,kjp,kjq->kpq", P, grad_c, grad_c) / eps + 2.0 * r[:, None, None] * eye(dim)
    hess[arange(n), :, arange(n), :] += block
    return hess
try:
    seconds = float("inf")
    for _ in range(repeats):
        sync(); t = time.perf_counter()
        hess = hessian()
        sync(); seconds = min(seconds, time.perf_counter() - t)
    n, dim = x.shape
    err = float(xp.sqrt(((hess.sum(2) - 2.0 * a[:, None, None] * eye(dim)) ** 2).sum()))
    print(repr(seconds), repr(err))
except out_of_memory:
    print("Infinity Infinity")
