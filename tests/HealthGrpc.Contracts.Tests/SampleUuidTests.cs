namespace HealthGrpc.Contracts.Tests;

public sealed class SampleUuidTests
{
    [Fact]
    public void Wire_bytes_are_big_endian_rfc_order()
    {
        var guid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var bytes = SampleUuid.ToByteString(guid);
        Assert.Equal("00112233445566778899AABBCCDDEEFF", Convert.ToHexString(bytes.ToByteArray()));
        Assert.Equal(guid, SampleUuid.ToGuid(bytes));
    }

    [Fact]
    public void Other_lengths_are_refused()
    {
        Assert.Throws<FormatException>(() => SampleUuid.ToGuid(Google.Protobuf.ByteString.CopyFrom(1, 2, 3)));
    }
}
