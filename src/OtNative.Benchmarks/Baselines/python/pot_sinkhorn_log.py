"""Per-iteration milliseconds of POT's ot.sinkhorn(method="sinkhorn_log") on x.npy, y.npy.
Usage: pot_sinkhorn_log.py DIR EPS ITERATIONS
"""
import sys, os, time, warnings
import numpy as np, ot
d = sys.argv[1]; x = np.load(os.path.join(d, "x.npy")); y = np.load(os.path.join(d, "y.npy"))
eps = float(sys.argv[2]); iters = int(sys.argv[3])
a = np.full(len(x), 1.0 / len(x)); b = np.full(len(y), 1.0 / len(y))
M = ot.dist(x, y)
warnings.simplefilter("ignore")
ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=2, stopThr=0.0)
t = time.perf_counter()
ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=iters, stopThr=0.0)
print(repr((time.perf_counter() - t) / iters * 1000.0))
