using Google.Protobuf;

namespace HealthGrpc.Contracts.Tests;

/// <summary>
/// Encoded bytes of representative messages are checked in. A change that alters the wire (a renumbered
/// field, a changed type) fails here. To accept an intended wire change, regenerate with
/// <c>HEALTHGRPC_UPDATE_GOLDEN=1 dotnet test</c> and explain the change in the commit.
/// </summary>
public sealed class GoldenWireTests
{
    private static readonly bool Update = Environment.GetEnvironmentVariable("HEALTHGRPC_UPDATE_GOLDEN") == "1";

    public static TheoryData<string> Fixtures() => new(RepresentativeBatches.All().Keys);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Encoding_matches_the_checked_in_golden_bytes(string fixture)
    {
        var message = RepresentativeBatches.All()[fixture];
        var actual = message.ToByteArray();
        if (Update)
        {
            File.WriteAllBytes(Path.Combine(SourceGoldenDirectory(), fixture), actual);
        }

        var path = Path.Combine(AppContext.BaseDirectory, "Golden", fixture);
        Assert.True(File.Exists(path), $"Golden fixture {fixture} is missing; generate it with HEALTHGRPC_UPDATE_GOLDEN=1.");
        var expected = File.ReadAllBytes(path);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(actual));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Golden_bytes_decode_to_the_same_message(string fixture)
    {
        var message = RepresentativeBatches.All()[fixture];
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", fixture));
        var decoded = message.Descriptor.Parser.ParseFrom(bytes);
        Assert.Equal(message, decoded);
    }

    private static string SourceGoldenDirectory([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Golden");
}
