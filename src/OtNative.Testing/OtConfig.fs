namespace OtNative.Testing

open FsCheck

/// FsCheck configurations that bound the discarded draws. The checks discard the draws they do not cover (an
/// unconverged solve, a degenerate plan); without a bound, a regression that made most draws inapplicable would pass
/// unseen behind FsCheck's default of 1 000 discards.
[<AbstractClass; Sealed>]
type OtConfig =
    /// The `MaxRejected` for `maxTest` passing draws: FsCheck fails the property (arguments exhausted) at that
    /// discard, so at most maxTest / 20 draws — 5 % — may be discarded.
    static member MaxRejected(maxTest: int) = maxTest / 20 + 1

    /// `Config.QuickThrowOnFailure` with `maxTest` passing draws and at most 5 % of them discarded.
    static member Quick(maxTest: int) : Config =
        Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithMaxRejected(OtConfig.MaxRejected maxTest)
