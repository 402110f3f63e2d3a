"""The paper's Algorithm 1 in PyTorch float64 on the GPU (the CPU when there is none): best-of-REPEATS seconds and the
marginal error (eq. 59) of the Hessian formed from the potentials f.npy, g.npy; "Infinity Infinity" when it does not fit.
Usage: torch_algorithm_one.py DIR EPS TAU REPEATS
"""
import sys, os, time
import numpy as np, torch
d = sys.argv[1]
eps = float(sys.argv[2]); tau = float(sys.argv[3]); repeats = int(sys.argv[4])
dev = "cuda" if torch.cuda.is_available() else "cpu"
x, y, f, g, a, b = (torch.from_numpy(np.load(os.path.join(d, k + ".npy"))).to(dev) for k in ("x", "y", "f", "g", "a", "b"))
def sync():
    if dev == "cuda": torch.cuda.synchronize()
def hessian():
    n, dim = x.shape; m = y.shape[0]
    diff = x[:, None, :] - y[None, :, :]
    P = a[:, None] * b[None, :] * torch.exp((f[:, None] + g[None, :] - (diff ** 2).sum(-1)) / eps)
    r = P.sum(1); s = P.sum(0)
    H = torch.cat([torch.cat([torch.diag(r), P], 1), torch.cat([P.T, torch.diag(s)], 1)], 0)
    lam, V = torch.linalg.eigh(H)
    keep = lam > tau
    grad_c = 2.0 * diff
    R = torch.zeros((n + m, n, dim), dtype=torch.float64, device=dev)
    idx = torch.arange(n, device=dev)
    R[idx, idx, :] = torch.einsum("kj,kjd->kd", P, grad_c)
    R[n:, :, :] = torch.einsum("kj,kjd->jkd", P, grad_c)
    B = R.reshape(n + m, n * dim).T @ (V[:, keep] / torch.sqrt(lam[keep]))
    hess = (B @ B.T / eps).reshape(n, dim, n, dim)
    block = -torch.einsum("kj,kjp,kjq->kpq", P, grad_c, grad_c) / eps + 2.0 * r[:, None, None] * torch.eye(dim, dtype=torch.float64, device=dev)
    hess[idx, :, idx, :] += block
    return hess
try:
    seconds = float("inf")
    for _ in range(repeats):
        sync(); t = time.perf_counter()
        hess = hessian()
        sync(); seconds = min(seconds, time.perf_counter() - t)
    n, dim = x.shape
    err = torch.sqrt(((hess.sum(dim=2) - 2.0 * a[:, None, None] * torch.eye(dim, dtype=torch.float64, device=dev)) ** 2).sum()).item()
    print(repr(seconds), repr(err))
except torch.cuda.OutOfMemoryError:
    print("Infinity Infinity")
