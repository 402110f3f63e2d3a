using System.Text;

namespace OtNative;

/// <summary>
/// What <see cref="MpiSession.Agree"/> exchanges, as doubles (the one element type the collectives here carry): per rank a
/// status (0 ready, 1 input fault, 2 failed computing), the digests as exact 32-bit halves, then the failure's message as
/// UTF-8 bytes.
/// </summary>
internal static class MpiAgreement
{
    private const double Ready = 0, InputFault = 1, Failed = 2;

    /// <summary>
    /// The exceptions that mean the input, the output or the machine, not a computation, is at fault: the command line's
    /// exit code 2 (one list for a single process and for the ranks' agreement).
    /// </summary>
    public static bool IsInputFault(Exception e) =>
        e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or NotSupportedException or OutOfMemoryException;

    public static double[] Encode(IReadOnlyList<(string Label, ulong Digest)> digests, Exception? failure)
    {
        var message = failure is null ? [] : Encoding.UTF8.GetBytes(failure.Message);
        var status = failure is null ? Ready : IsInputFault(failure) ? InputFault : Failed;
        var data = new List<double> { status, digests.Count };
        foreach (var (_, digest) in digests)
        {
            data.Add(digest >> 32);
            data.Add(digest & 0xFFFFFFFF);
        }
        data.Add(message.Length);
        data.AddRange(message.Select(b => (double)b));
        return data.ToArray();
    }

    /// <summary>The exception every rank throws, decided from every rank's record alike; null when all are ready and agree.</summary>
    public static MpiAgreementException? Verdict(double[] all, int[] lengths, IReadOnlyList<(string Label, ulong Digest)> labels, int ranks)
    {
        var records = new List<(double Status, ulong[] Digests, string Message)>();
        for (int r = 0, at = 0; r < ranks; at += lengths[r], r++)
        {
            int count = (int)all[at + 1];
            var digests = Enumerable.Range(0, count).Select(k => ((ulong)all[at + 2 + 2 * k] << 32) | (ulong)all[at + 3 + 2 * k]).ToArray();
            int messageAt = at + 2 + 2 * count;
            var message = Encoding.UTF8.GetString(all.AsSpan(messageAt + 1, (int)all[messageAt]).ToArray().Select(v => (byte)v).ToArray());
            records.Add((all[at], digests, message));
        }
        int failed = records.FindIndex(r => r.Status != Ready);
        if (failed >= 0)
            return new MpiAgreementException($"rank {failed}: {records[failed].Message}", failed, records[failed].Status == InputFault);
        for (int r = 1; r < ranks; r++)
        {
            var (reference, other) = (records[0].Digests, records[r].Digests);
            int k = 0;
            while (k < reference.Length && k < other.Length && reference[k] == other[k]) k++;
            if (k == reference.Length && k == other.Length) continue;
            var what = k < reference.Length && k < labels.Count ? labels[k].Label : "inputs";
            var given = what is "options" or "inputs" ? $"different {what}" : $"a different {what}";
            return new MpiAgreementException(
                $"rank {r} was given {given} from rank 0: every rank must read the same data (their paths may differ) with the same options.",
                r, true);
        }
        return null;
    }
}
