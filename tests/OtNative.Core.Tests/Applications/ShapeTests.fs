module OtNative.Core.Tests.ShapeTests

open System
open Xunit
open OtNative.Core
open OtNative.Applications

/// A unit square (one quad face, fan-triangulated) and, in the plane z = 1, a triangle of area 3.
let private twoParts = """OFF
# a comment line
7 2 0
0 0 0
1 0 0
1 1 0
0 1 0
0 0 1
3 0 1
0 2 1
4 0 1 2 3
3 4 5 6
"""

[<Fact>]
let ``OFF parsing fan-triangulates polygons and reports areas`` () =
    let mesh = Shapes.parseOff twoParts
    Assert.Equal(7, mesh.Vertices.Rows)
    Assert.Equal(3, mesh.Triangles.Length)
    let areas = mesh.Triangles |> Array.map (Shapes.triangleArea mesh)
    Assert.Equal(1.0, areas.[0] + areas.[1], 14)
    Assert.Equal(3.0, areas.[2], 14)
    // ModelNet's header variant: counts on the OFF line.
    let fused = Shapes.parseOff "OFF3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
    Assert.Equal(1, fused.Triangles.Length)

[<Fact>]
let ``area sampling puts points on the surface in proportion to area`` () =
    let mesh = Shapes.parseOff twoParts
    let count = 20_000
    let pts = Shapes.sampleSurface (Random 3) mesh count
    let upper = [| for i in 0 .. count - 1 do if pts.[i, 2] = 1.0 then yield i |]
    for i in 0 .. count - 1 do
        let z = pts.[i, 2]
        Assert.True(z = 0.0 || z = 1.0)
        if z = 0.0 then Assert.True(pts.[i, 0] >= 0.0 && pts.[i, 0] <= 1.0 && pts.[i, 1] >= 0.0 && pts.[i, 1] <= 1.0)
        else Assert.True(pts.[i, 0] >= 0.0 && pts.[i, 1] >= 0.0 && pts.[i, 0] / 3.0 + pts.[i, 1] / 2.0 <= 1.0 + 1e-12)
    // Binomial(count, 3/4): 4.5 standard deviations.
    let expected = 0.75 * float count
    let sd = sqrt (float count * 0.75 * 0.25)
    Assert.True(abs (float upper.Length - expected) < 4.5 * sd, sprintf "%d points on the triangle of area 3, expected %g" upper.Length expected)

[<Fact>]
let ``boxes have the right surface area and the room has the paper's point counts`` () =
    let b = Shapes.box [| 0.0; 0.0; 0.0 |] [| 1.0; 2.0; 3.0 |]
    Assert.Equal(2.0 * (2.0 + 6.0 + 3.0), b.Triangles |> Array.sumBy (Shapes.triangleArea b), 12)
    Assert.Equal<int list>([ 500; 1500; 1500 ], Shapes.room |> List.map (fun (_, _, k) -> k))

[<Fact>]
let ``malformed OFF files are rejected with the line`` () =
    let ex = Assert.Throws<FormatException>(fun () -> Shapes.parseOff "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n" |> ignore)
    Assert.Contains("line 6", ex.Message)
    Assert.Throws<FormatException>(fun () -> Shapes.parseOff "PLY\n" |> ignore) |> ignore
    Assert.Throws<FormatException>(fun () -> Shapes.parseOff "OFF\n2 0 0\n0 0\n" |> ignore) |> ignore
