namespace OtNative.Applications

open System
open OtNative.Core
open System.Globalization
open System.IO

/// A triangle mesh: vertices (V×3) and triangles as vertex-index triples.
type TriangleMesh =
    { Vertices: Matrix
      Triangles: (int * int * int)[] }

/// Point clouds sampled from surfaces: OFF meshes (ModelNet's format) and a synthetic "room" of furniture
/// built from boxes (math.md §5, point-cloud registration).
module Shapes =
    /// Parses an OFF file's text: `OFF`, then `V F E`, V vertex lines, F face lines `k i₁ … i_k` (polygons
    /// are fan-triangulated). Comments (#) and blank lines are skipped; ModelNet's `OFFV F E` header
    /// variant is accepted. Errors name the line.
    let parseOff (text: string) =
        let stripComment (l: string) =
            let c = l.IndexOf '#'
            (if c >= 0 then l.Substring(0, c) else l).Trim()
        let lines =
            text.Split('\n')
            |> Array.mapi (fun i l -> i + 1, stripComment l)
            |> Array.filter (fun (_, l) -> l <> "")
        let fail (line: int) msg = raise (FormatException(sprintf "OFF line %d: %s" line msg))
        if lines.Length = 0 || not ((snd lines.[0]).StartsWith("OFF", StringComparison.Ordinal)) then
            raise (FormatException "not an OFF file: the first line must start with 'OFF'.")
        let headerLine, countsText, body =
            let first = snd lines.[0]
            if first.Length > 3 then fst lines.[0], first.Substring 3, lines.[1..]
            elif lines.Length > 1 then fst lines.[1], snd lines.[1], lines.[2..]
            else fail (fst lines.[0]) "missing the vertex and face counts."
        let numbers (line: int) (t: string) =
            t.Split([| ' '; '\t'; '\r' |], StringSplitOptions.RemoveEmptyEntries)
            |> Array.map (fun v -> match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                                   | true, x -> x
                                   | _ -> fail line (sprintf "'%s' is not a number." v))
        let counts = numbers headerLine countsText
        if counts.Length < 2 then fail headerLine "expected 'V F E' counts."
        // Counts that are not whole numbers in int's range (negative, 1.5, 4e9) failed later: a negative one with
        // Matrix.Zeros' "count = -9", two that overflow int when added (2e9 + 2e9) with IndexOutOfRangeException.
        let count (what: string) (v: float) =
            if not (v >= 0.0 && v <= float Int32.MaxValue && v = Math.Floor v) then
                fail headerLine (sprintf "the %s count %s is not a whole number from 0 to %d." what (v.ToString(CultureInfo.InvariantCulture)) Int32.MaxValue)
            int v
        let nv, nf = count "vertex" counts.[0], count "face" counts.[1]
        if int64 body.Length < int64 nv + int64 nf then fail headerLine (sprintf "declares %d vertices and %d faces but has %d data lines." nv nf body.Length)
        let vertices = Matrix.Zeros(nv, 3)
        for i in 0 .. nv - 1 do
            let line, t = body.[i]
            let v = numbers line t
            if v.Length < 3 then fail line "a vertex needs three coordinates."
            if not (Double.IsFinite v.[0] && Double.IsFinite v.[1] && Double.IsFinite v.[2]) then fail line "a vertex's coordinates must be finite."
            for c in 0 .. 2 do vertices.[i, c] <- v.[c]
        let triangles =
            [| for f in 0 .. nf - 1 do
                let line, t = body.[nv + f]
                let v = numbers line t |> Array.map int
                if v.Length < 1 || v.Length < 1 + v.[0] || v.[0] < 3 then fail line "a face is 'k i1 … ik' with k ≥ 3."
                let idx = v.[1 .. v.[0]]
                for i in idx do
                    if i < 0 || i >= nv then fail line (sprintf "vertex index %d is out of range (0 … %d)." i (nv - 1))
                for k in 1 .. idx.Length - 2 do yield idx.[0], idx.[k], idx.[k + 1] |]
        { Vertices = vertices; Triangles = triangles }

    /// Reads and parses an OFF file.
    let readOff (path: string) = parseOff (File.ReadAllText path)

    let private corner (mesh: TriangleMesh) i = Array.init 3 (fun c -> mesh.Vertices.[i, c])

    /// Area of one triangle.
    let triangleArea (mesh: TriangleMesh) (i, j, k) =
        let a, b, c = corner mesh i, corner mesh j, corner mesh k
        let u = Array.init 3 (fun t -> b.[t] - a.[t])
        let v = Array.init 3 (fun t -> c.[t] - a.[t])
        let cross = [| u.[1] * v.[2] - u.[2] * v.[1]; u.[2] * v.[0] - u.[0] * v.[2]; u.[0] * v.[1] - u.[1] * v.[0] |]
        0.5 * sqrt (Array.sumBy (fun x -> x * x) cross)

    /// `count` points uniform on the surface: a triangle chosen with probability ∝ its area, then a
    /// uniform point in it (reflected barycentric draw).
    let sampleSurface (rng: Random) (mesh: TriangleMesh) (count: int) =
        if mesh.Triangles.Length = 0 then raise (ArgumentException("the mesh has no triangles to sample.", "mesh"))
        let cumulative = mesh.Triangles |> Array.map (triangleArea mesh) |> Array.scan (+) 0.0 |> Array.tail
        let total = cumulative.[cumulative.Length - 1]
        if not (total > 0.0) then raise (ArgumentException("the mesh has zero surface area.", "mesh"))
        Matrix(count, 3, [|
            for _ in 1 .. count do
                let target = rng.NextDouble() * total
                let t = min (mesh.Triangles.Length - 1) (let i = Array.BinarySearch(cumulative, target) in if i >= 0 then i else ~~~i)
                let i, j, k = mesh.Triangles.[t]
                let a, b, c = corner mesh i, corner mesh j, corner mesh k
                let mutable u = rng.NextDouble()
                let mutable v = rng.NextDouble()
                if u + v > 1.0 then
                    u <- 1.0 - u
                    v <- 1.0 - v
                for q in 0 .. 2 do yield a.[q] + u * (b.[q] - a.[q]) + v * (c.[q] - a.[q]) |])

    /// The closed surface of an axis-aligned box [lo, hi], as 12 triangles.
    let box (lo: float[]) (hi: float[]) =
        let v = Matrix(8, 3, [| for i in 0 .. 7 do for c in 0 .. 2 -> if (i >>> c) &&& 1 = 1 then hi.[c] else lo.[c] |])
        let quads = [| 0, 1, 3, 2; 4, 5, 7, 6; 0, 1, 5, 4; 2, 3, 7, 6; 0, 2, 6, 4; 1, 3, 7, 5 |]
        { Vertices = v; Triangles = quads |> Array.collect (fun (a, b, c, d) -> [| a, b, c; a, c, d |]) }

    /// Several meshes as one.
    let merge (meshes: TriangleMesh list) =
        let offsets = meshes |> List.map (fun m -> m.Vertices.Rows) |> List.scan (+) 0
        { Vertices = Matrix(List.last offsets, 3, meshes |> List.toArray |> Array.collect (fun m -> m.Vertices.Data))
          Triangles = List.zip meshes (List.take meshes.Length offsets) |> List.toArray
                      |> Array.collect (fun (m, o) -> m.Triangles |> Array.map (fun (a, b, c) -> a + o, b + o, c + o)) }

    /// A chair: seat, back and four legs (about 0.5 m wide).
    let chair =
        merge [ yield box [| 0.0; 0.0; 0.45 |] [| 0.5; 0.5; 0.5 |]
                yield box [| 0.0; 0.45; 0.5 |] [| 0.5; 0.5; 1.0 |]
                for x, y in [ 0.0, 0.0; 0.45, 0.0; 0.0, 0.45; 0.45, 0.45 ] -> box [| x; y; 0.0 |] [| x + 0.05; y + 0.05; 0.45 |] ]

    /// A desk: top, two side panels and a modesty panel.
    let desk =
        merge [ box [| 0.0; 0.0; 0.72 |] [| 1.4; 0.7; 0.75 |]
                box [| 0.0; 0.0; 0.0 |] [| 0.04; 0.7; 0.72 |]
                box [| 1.36; 0.0; 0.0 |] [| 1.4; 0.7; 0.72 |]
                box [| 0.04; 0.6; 0.3 |] [| 1.36; 0.64; 0.72 |] ]

    /// A sofa: base, backrest and two armrests.
    let sofa =
        merge [ box [| 0.0; 0.0; 0.0 |] [| 2.0; 0.9; 0.42 |]
                box [| 0.0; 0.7; 0.42 |] [| 2.0; 0.9; 0.85 |]
                box [| 0.0; 0.0; 0.42 |] [| 0.2; 0.7; 0.62 |]
                box [| 1.8; 0.0; 0.42 |] [| 2.0; 0.7; 0.62 |] ]

    /// The paper's three objects with their point counts: chair 500, desk 1500, sofa 1500.
    let room = [ "chair", chair, 500; "desk", desk, 1500; "sofa", sofa, 1500 ]

    /// Centres a cloud at its mean (registration is of the shape, not of its position).
    let centre (x: Matrix) =
        let mean = Dense.weightedMeanRow x (Array.create x.Rows (1.0 / float x.Rows))
        Matrix(x.Rows, x.Cols, Array.mapi (fun t v -> v - mean.[t % x.Cols]) x.Data)

    /// The objects by name, each with its point count scaled by `density` (at least 4 points).
    let private counted density =
        room |> List.map (fun (name, mesh, paper) -> name, mesh, max 4 (int (Math.Round(float paper * density))))

    /// Points sampled from one of the paper's objects (`chair`, `desk`, `sofa`), or from all three placed side by side as
    /// one scene (`room`), with the paper's counts (500, 1500, 1500) times `density`.
    let scene (rng: Random) (name: string) (density: float) =
        if not (density > 0.0 && density <= 10.0) then
            invalidArg "density" (sprintf "The density must be in (0, 10], got %g." density)
        let objects = counted density
        if name = "room" then
            let offsets = dict [ "chair", [| 0.2; 1.4; 0.0 |]; "desk", [| 0.0; 2.0; 0.0 |]; "sofa", [| 2.0; 0.0; 0.0 |] ]
            let parts =
                objects |> List.map (fun (part, mesh, count) ->
                    let points = sampleSurface rng mesh count
                    let offset = offsets.[part]
                    Matrix(points.Rows, 3, points.Data |> Array.mapi (fun t v -> v + offset.[t % 3])))
            Matrix(parts |> List.sumBy (fun p -> p.Rows), 3, parts |> List.toArray |> Array.collect (fun p -> p.Data))
        else
            match objects |> List.tryFind (fun (part, _, _) -> part = name) with
            | Some (_, mesh, count) -> sampleSurface rng mesh count
            | None -> invalidArg "name" (sprintf "The scene must be room, chair, desk or sofa, got '%s'." name)
