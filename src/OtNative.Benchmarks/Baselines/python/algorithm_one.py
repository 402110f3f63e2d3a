"""The paper's Algorithm 1 in numpy: best-of-REPEATS seconds and the marginal error (eq. 59) of the
Hessian formed from the potentials f.npy, g.npy.
Usage: algorithm_one.py DIR EPS TAU REPEATS
"""
import sys, os, time
import numpy as np
d = sys.argv[1]
x, y, f, g, a, b = (np.load(os.path.join(d, k + ".npy")) for k in ("x", "y", "f", "g", "a", "b"))
eps = float(sys.argv[2]); tau = float(sys.argv[3]); repeats = int(sys.argv[4])
def hessian():
    n, dim = x.shape; m = len(y)
    diff = x[:, None, :] - y[None, :, :]
    P = a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - (diff ** 2).sum(-1)) / eps)
    r = P.sum(1); s = P.sum(0)
    H = np.block([[np.diag(r), P], [P.T, np.diag(s)]])
    lam, V = np.linalg.eigh(H)
    keep = lam > tau
    grad_c = 2.0 * diff
    R = np.zeros((n + m, n, dim))
    R[np.arange(n), np.arange(n), :] = np.einsum("kj,kjd->kd", P, grad_c)
    R[n:, :, :] = np.einsum("kj,kjd->jkd", P, grad_c)
    B = R.reshape(n + m, n * dim).T @ (V[:, keep] / np.sqrt(lam[keep]))
    hess = (B @ B.T / eps).reshape(n, dim, n, dim)
    block = -np.einsum("kj,kjp,kjq->kpq", P, grad_c, grad_c) / eps + 2.0 * r[:, None, None] * np.eye(dim)
    hess[np.arange(n), :, np.arange(n), :] += block
    return hess
seconds = float("inf")
for _ in range(repeats):
    t = time.perf_counter()
    hess = hessian()
    seconds = min(seconds, time.perf_counter() - t)
n, dim = x.shape
err = np.sqrt(((hess.sum(axis=2) - 2.0 * a[:, None, None] * np.eye(dim)) ** 2).sum())
print(repr(seconds), repr(err))
