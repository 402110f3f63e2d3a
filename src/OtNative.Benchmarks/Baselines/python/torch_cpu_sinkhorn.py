"""Per-iteration milliseconds of a float64 PyTorch log-domain Sinkhorn on the CPU (torch.logsumexp over the
materialised cost, both half-steps, every core), on x.npy, y.npy. Prints the time and the thread count.
Usage: torch_cpu_sinkhorn.py DIR EPS ITERATIONS
"""
import sys, os, time, math
import numpy as np, torch
d = sys.argv[1]; eps = float(sys.argv[2]); iters = int(sys.argv[3])
torch.set_num_threads(os.cpu_count())
x = torch.from_numpy(np.load(os.path.join(d, "x.npy"))); y = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
n, m = x.shape[0], y.shape[0]
C = torch.cdist(x, y) ** 2
loga = torch.full((n,), -math.log(n), dtype=torch.float64); logb = torch.full((m,), -math.log(m), dtype=torch.float64)
f = torch.zeros(n, dtype=torch.float64); g = torch.zeros(m, dtype=torch.float64)
def iteration():
    global f, g
    g = -eps * torch.logsumexp(loga[:, None] + (f[:, None] - C) / eps, dim=0)
    f = -eps * torch.logsumexp(logb[None, :] + (g[None, :] - C) / eps, dim=1)
iteration(); iteration()
t = time.perf_counter()
for _ in range(iters): iteration()
print(repr((time.perf_counter() - t) / iters * 1000.0), repr(float(torch.get_num_threads())))
