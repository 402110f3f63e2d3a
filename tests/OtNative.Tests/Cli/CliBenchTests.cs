using System.Text.Json;
using OtNative.Cli;
using Xunit;

namespace OtNative.Tests;

[Collection("cli")]
/// <summary>Short runs of the benchmark commands: their own category, run by CI after the unit suites.</summary>
[Trait("Category", "Benchmarks")]
public class CliBenchTests
{
    [Fact]
    public void QuickCompareMeasuresEveryMethodAndTheTruncatedHessianAlwaysSucceeds()
    {
        var dir = TestData.TempDirectory();
        string P(string f) => Path.Combine(dir, f);
        Assert.Equal(0, Program.Run(["bench", "compare", "--quick", "--json", P("c.json"), "--plots", P("plots")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(P("c.json")));
        var cells = doc.RootElement.GetProperty("accuracy").EnumerateArray().ToArray();
        // 3 scales × 3 sizes × 5 methods, 3 seeds each.
        Assert.Equal(45, cells.Length);
        Assert.All(cells, c => Assert.Equal(3, c.GetProperty("trials").GetInt32()));
        Assert.All(cells.Where(c => c.GetProperty("method").GetString() is "analytic-reg" or "analytic-schur"),
            c => Assert.Equal(1.0, c.GetProperty("successRate").GetDouble()));
        var runtime = doc.RootElement.GetProperty("runtime").EnumerateArray().ToArray();
        // Comparison methods stop at n = 40 in the quick protocol and say so; ours run to n = 200.
        Assert.Contains(runtime, c => c.GetProperty("method").GetString() == "implicit" && c.GetProperty("n").GetInt32() == 200
                                      && c.GetProperty("status").GetString()!.StartsWith("not run", StringComparison.Ordinal));
        Assert.Contains(runtime, c => c.GetProperty("method").GetString() == "analytic-schur" && c.GetProperty("n").GetInt32() == 200
                                      && c.GetProperty("status").GetString() == "ok" && c.GetProperty("medianSeconds").GetDouble() > 0);
        Assert.True(new FileInfo(P(Path.Combine("plots", "runtime.png"))).Length > 1000);
        Assert.True(new FileInfo(P(Path.Combine("plots", "error.png"))).Length > 1000);
    }

    [Fact]
    public void SinkhornBenchTimesEachSizeAndItsVariantsBesideThePlainRow()
    {
        var dir = TestData.TempDirectory();
        Assert.Equal(0, Program.Run(["bench", "sinkhorn", "--sizes", "150", "--dims", "2,3", "--iterations", "5", "--mixed-sizes", "",
            "--no-pot", "--no-torch", "--json", Path.Combine(dir, "s.json")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "s.json")));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal([2, 3], rows.Select(r => r.GetProperty("d").GetInt32()));
        var variants = doc.RootElement.GetProperty("variants").EnumerateArray().ToArray();
        Assert.Equal(["unbalanced", "mahalanobis", "euclidean", "pnorm", "unbalanced", "mahalanobis", "euclidean", "pnorm"], variants.Select(v => v.GetProperty("variant").GetString()));
        foreach (var v in variants)
        {
            var plain = rows.Single(r => r.GetProperty("d").GetInt32() == v.GetProperty("d").GetInt32()).GetProperty("msPerIteration").GetDouble();
            Assert.Equal(plain, v.GetProperty("plainMsPerIteration").GetDouble());
            Assert.Equal(v.GetProperty("msPerIteration").GetDouble() / plain, v.GetProperty("relativeToPlain").GetDouble(), 12);
        }
        Assert.Equal(2, Program.Run(["bench", "sinkhorn", "--sizes", "50", "--variants", "cosine", "--no-pot", "--no-torch", "--json", Path.Combine(dir, "t.json")]));
    }

    [Fact]
    public void BatchBenchAgreesWithTheLoop()
    {
        var dir = TestData.TempDirectory();
        Assert.Equal(0, Program.Run(["bench", "batch", "--problems", "200", "--size", "16", "--hvp", "--json", Path.Combine(dir, "b.json")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "b.json")));
        var result = doc.RootElement.GetProperty("result");
        Assert.Equal(0.0, result.GetProperty("maxValueDifference").GetDouble());
        // The rates are the problem count over the measured times, for each of the three ways.
        foreach (var (rate, seconds) in new[] { ("batchProblemsPerSecond", "batchSeconds"), ("parallelForProblemsPerSecond", "parallelForSeconds"), ("loopProblemsPerSecond", "loopSeconds") })
            Assert.Equal(200 / result.GetProperty(seconds).GetDouble(), result.GetProperty(rate).GetDouble(), 9);
        Assert.InRange(result.GetProperty("batchBytesPerProblem").GetDouble(), 1.0, 1 << 20);
    }

    [Fact]
    public void MpiBenchTimesOneProcessAndEachJobAndCountsTheModelsCommunication()
    {
        var dir = TestData.TempDirectory();
        Assert.Equal(0, Program.Run(["bench", "mpi", "--size", "300", "--iterations", "5", "--ranks", "1,2", "--json", Path.Combine(dir, "m.json")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "m.json")));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows[0].GetProperty("millisecondsPerIteration").GetDouble() > 0);
        if (!MpiSession.IsAvailable)
        {
            Assert.Single(rows);
            Assert.Contains("MPI", doc.RootElement.GetProperty("note").GetString());
            return;
        }
        Assert.Equal(3, rows.Count);
        foreach (var (row, ranks) in rows.Skip(1).Zip([1, 2]))
        {
            Assert.Equal(ranks, row.GetProperty("ranks").GetInt32());
            // Three collectives an iteration; the solve's start and its final measurement add a few more over 5 iterations.
            Assert.InRange(row.GetProperty("collectivesPerIteration").GetDouble(), 3.0, 4.5);
            var model = 300.0 / ranks + 2 * 300;
            Assert.Equal(model, row.GetProperty("modelDoublesPerIteration").GetDouble());
            Assert.InRange(row.GetProperty("doublesPerIteration").GetDouble(), model, 1.5 * model);
        }
    }

    [Fact]
    public void ForwardBenchRunsEveryMethodToTheSameAnswer()
    {
        var dir = TestData.TempDirectory();
        Assert.Equal(0, Program.Run(["bench", "forward", "--quick", "--json", Path.Combine(dir, "f.json"), "--markdown", Path.Combine(dir, "f.md")]));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "f.json")));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(3 * 2 * 15, rows.Count);
        foreach (var problem in rows.GroupBy(r => (r.GetProperty("data").GetString(), r.GetProperty("scale").GetDouble())))
        {
            var solves = problem.Where(r => !r.GetProperty("method").GetString()!.StartsWith("self-term", StringComparison.Ordinal)).ToList();
            var plain = solves.Single(r => r.GetProperty("method").GetString() == "plain").GetProperty("value").GetDouble();
            Assert.All(solves, r => Assert.Equal(plain, r.GetProperty("value").GetDouble(), 4));
            var self = problem.Where(r => r.GetProperty("method").GetString()!.StartsWith("self-term", StringComparison.Ordinal)).Select(r => r.GetProperty("value").GetDouble()).ToList();
            Assert.Equal(self[0], self[1], 4);
            // Two passes an iteration (one for the symmetric update), two more to measure the returned plan, one to
            // turn an initial f into L-BFGS's starting g, and the subsample initialiser's own solve and extension.
            foreach (var r in problem)
            {
                int iterations = r.GetProperty("iterations").GetInt32();
                var method = r.GetProperty("method").GetString()!;
                int perIteration = method == "self-term, symmetric" ? 1 : 2;
                int start = method is "gaussian+lbfgs" or "gmm+lbfgs" or "auto" ? 1 : 0;
                int passes = r.GetProperty("passes").GetInt32();
                if (method == "subsample") Assert.True(passes > perIteration * iterations + 2, $"subsample: {passes} passes for {iterations} iterations");
                else Assert.Equal(perIteration * iterations + 2 + start, passes);
            }
        }
        Assert.Contains("| mixtures | 300 |", File.ReadAllText(Path.Combine(dir, "f.md")));
    }
}
