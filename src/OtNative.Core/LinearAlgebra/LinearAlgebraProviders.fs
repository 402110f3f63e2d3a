namespace OtNative.Core

open System
open OtNative.Interop

/// The CPU's dense linear-algebra providers, chosen at run time like Math.NET's: native LAPACK/BLAS when
/// the libraries load, managed Math.NET otherwise. A backend owns the provider it runs on
/// (`IBackend.LinearAlgebra`); this module only says which CPU providers exist here.
module LinearAlgebraProviders =
    /// The managed provider (always available).
    let managed = ManagedLinearAlgebra() :> ILinearAlgebra

    /// The native provider, when the libraries load here.
    let native = if NativeLapack.IsAvailable then Some(NativeLinearAlgebra() :> ILinearAlgebra) else None

    /// Native when LAPACKE and CBLAS load, unless OTNATIVE_LINALG=managed asks for the managed one.
    let preferred =
        match Environment.GetEnvironmentVariable "OTNATIVE_LINALG", native with
        | "managed", _ | _, None -> managed
        | _, Some n -> n
