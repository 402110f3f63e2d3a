namespace OtNative.Cli;

/// <summary>
/// The preparation of an <c>--mpi</c> run — reading and checking its inputs and options — agreed across the ranks before any
/// distributed work: a rank that fails, or reads different data, makes every rank stop with one message (see
/// <see cref="MpiSession.Agree"/>). Without MPI the preparation simply runs.
/// </summary>
public static class AgreedPreparation
{
    /// <summary>Runs <paramref name="prepare"/>, then (under MPI) agrees on its outcome and <paramref name="fingerprint"/> with the other ranks.</summary>
    public static T Run<T>(Func<T> prepare, Func<T, RunFingerprint, RunFingerprint> fingerprint)
    {
        if (MpiSession.Current is not { Size: > 1 } session) return prepare();
        T prepared = default!;
        IReadOnlyList<(string, ulong)> digests = [];
        Exception? failure = null;
        try
        {
            prepared = prepare();
            digests = fingerprint(prepared, new RunFingerprint(Program.CurrentArguments)).Digests;
        }
        catch (Exception e)
        {
            // Cancellation too: a rank that left without agreeing would leave the others waiting in the collective.
            failure = e;
        }
        session.Agree(digests, failure);
        return prepared;
    }
}
