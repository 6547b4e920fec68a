using HealthGrpc.Server.Ingest;

namespace HealthGrpc.Server.Tests;

public sealed class ContentUuidTests
{
    private static Guid Derive(double? quantity = 72, string model = "Watch7,1", string unit = "count/min") =>
        ContentUuid.Derive(1, null, 1_700_000_000_000, 1_700_000_000_000, quantity, null, unit, "Alice's Watch", "Apple", model, "com.apple.health");

    [Fact]
    public void The_id_is_pinned_so_a_change_to_the_derivation_cannot_slip_through()
    {
        // Changing this value means every content-derived id changes: re-sent data would no longer deduplicate.
        Assert.Equal(Guid.Parse("cbe21994-9dc0-8a34-8544-e74a735c91ad"), Derive());
    }

    [Fact]
    public void Any_identity_field_changes_the_id_and_it_is_a_version_8_uuid()
    {
        var id = Derive();
        Assert.NotEqual(id, Derive(quantity: 73));
        Assert.NotEqual(id, Derive(model: "Watch7,2"));
        Assert.NotEqual(id, Derive(quantity: null));
        Assert.NotEqual(Derive(model: "ab", unit: "c"), Derive(model: "a", unit: "bc"));
        Assert.Equal(8, id.Version);
    }

    [Fact]
    public void Long_strings_beyond_the_stack_buffer_still_derive_deterministically()
    {
        var longModel = new string('m', 4000);
        Assert.Equal(Derive(model: longModel), Derive(model: longModel));
        Assert.NotEqual(Derive(model: longModel), Derive(model: longModel + "x"));
    }
}
