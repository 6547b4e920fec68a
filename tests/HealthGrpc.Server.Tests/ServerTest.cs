namespace HealthGrpc.Server.Tests;

/// <summary>A fresh server (own SQLite file) and a user "alice" with a token, per test.</summary>
public abstract class ServerTest : IAsyncLifetime
{
    internal TestServer Server { get; private set; } = null!;

    internal string Token { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync();
        Token = await Server.CreateUserAsync("alice");
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
