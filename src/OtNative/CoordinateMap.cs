using OtNative.Core;

namespace OtNative;

/// <summary>
/// The linear map x ↦ L x (L: d×d) under which a <see cref="GroundCost"/> is the squared Euclidean cost, with the maps
/// that take derivatives computed on the mapped points back to the caller's points: a point or direction row xᵀ becomes
/// xᵀLᵀ, a gradient row gᵀ becomes gᵀL, a d×d Hessian block B becomes LᵀBL. The identity map returns its input.
/// </summary>
internal sealed class CoordinateMap
{
    private readonly double[,]? _l;

    internal CoordinateMap(double[,]? l) => _l = l;

    public static CoordinateMap Identity { get; } = new(null);

    public bool IsIdentity => _l is null;

    /// <summary>Fails unless the map takes d coordinates.</summary>
    public void RequireDimension(int d, string paramName)
    {
        if (_l is not null && _l.GetLength(0) != d)
            throw new ArgumentException($"The cost's metric is {_l.GetLength(0)}×{_l.GetLength(0)} but the points have {d} coordinates.", paramName);
    }

    /// <summary>Rows x_kᵀ ↦ (L x_k)ᵀ = x_kᵀLᵀ: points, and directions in x.</summary>
    public Matrix Points(Matrix x) => _l is null ? x : Times(x, transposeL: true);

    /// <summary>Rows g_kᵀ ↦ g_kᵀ L: gradients with respect to the mapped points, taken back to x.</summary>
    public Matrix Gradient(Matrix g) => _l is null ? g : Times(g, transposeL: false);

    /// <summary>Every d×d block B of a Hessian (square, a multiple of d) ↦ Lᵀ B L.</summary>
    public Matrix Blocks(Matrix h)
    {
        if (_l is null) return h;
        int d = _l.GetLength(0);
        int blocks = h.Rows / d;
        var result = Matrix.Zeros(h.Rows, h.Cols);
        var tmp = new double[d, d];
        for (int bk = 0; bk < blocks; bk++)
            for (int bl = 0; bl < blocks; bl++)
            {
                // tmp = B L, then Lᵀ tmp.
                for (int a = 0; a < d; a++)
                    for (int c = 0; c < d; c++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++) s += h[bk * d + a, bl * d + e] * _l[e, c];
                        tmp[a, c] = s;
                    }
                for (int a = 0; a < d; a++)
                    for (int c = 0; c < d; c++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++) s += _l[e, a] * tmp[e, c];
                        result[bk * d + a, bl * d + c] = s;
                    }
            }
        return result;
    }

    /// <summary>X Lᵀ or X L.</summary>
    private Matrix Times(Matrix x, bool transposeL)
    {
        var l = _l!;
        int d = l.GetLength(0);
        var result = Matrix.Zeros(x.Rows, d);
        for (int k = 0; k < x.Rows; k++)
            for (int a = 0; a < d; a++)
            {
                double s = 0;
                for (int e = 0; e < d; e++) s += x[k, e] * (transposeL ? l[a, e] : l[e, a]);
                result[k, a] = s;
            }
        return result;
    }
}
