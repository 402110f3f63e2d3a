"""Per-half-step milliseconds of a float64 PyTorch log-domain Sinkhorn (torch.logsumexp over the
materialised cost) on the GPU; "Infinity" when the cost does not fit, NaN without a GPU.
Usage: torch_sinkhorn.py DIR EPS ITERATIONS
"""
import sys, os, time, math
import numpy as np, torch
d = sys.argv[1]; eps = float(sys.argv[2]); iters = int(sys.argv[3])
if not torch.cuda.is_available():
    print("NaN NaN"); sys.exit(0)
try:
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy"))).cuda(); y = torch.from_numpy(np.load(os.path.join(d, "y.npy"))).cuda()
    n, m = x.shape[0], y.shape[0]
    C = torch.cdist(x, y) ** 2
    loga = torch.full((n,), -math.log(n), dtype=torch.float64, device="cuda"); logb = torch.full((m,), -math.log(m), dtype=torch.float64, device="cuda")
    f = torch.zeros(n, dtype=torch.float64, device="cuda"); g = torch.zeros(m, dtype=torch.float64, device="cuda")
    def half():
        global f
        f = -eps * torch.logsumexp(logb[None, :] + (g[None, :] - C) / eps, dim=1)
    half(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters): half()
    torch.cuda.synchronize()
    print(repr((time.perf_counter() - t) / iters * 1000.0), repr(float(n * m)))
except torch.cuda.OutOfMemoryError:
    print("Infinity Infinity")
