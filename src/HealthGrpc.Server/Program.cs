using System.CommandLine;
using HealthGrpc.Server;
using HealthGrpc.Server.Auth;
using HealthGrpc.Storage.Sqlite;

// `HealthGrpc.Server [host options]` serves; `HealthGrpc.Server create-user <id>` creates a user and prints a token.
var storeOption = new Option<string>("--store") { Description = "SQLite file of the server", DefaultValueFactory = _ => Path.Combine("data", "healthgrpc.db") };
var userArgument = new Argument<string>("user-id") { Description = "The user to create (or to add a token to)" };
var createUser = new Command("create-user", "Create a user (idempotent) and print a new bearer token for it") { userArgument, storeOption };
createUser.SetAction(async (parse, ct) =>
{
    var path = Path.GetFullPath(parse.GetValue(storeOption)!);
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    await using var store = await SqliteHealthStore.OpenAsync(path, ct: ct);
    var token = BearerTokens.Issue();
    await store.AddTokenAsync(parse.GetValue(userArgument)!, BearerTokens.Hash(token), ct);
    Console.WriteLine(token);
    return 0;
});

var serve = new RootCommand("HealthGrpc reference server (h2c on 127.0.0.1:5000 by default; any ASP.NET Core host option is accepted)")
{
    createUser,
};
serve.TreatUnmatchedTokensAsErrors = false;
serve.SetAction(async (parse, ct) =>
{
    await using var app = await ServerHost.BuildAsync([.. parse.UnmatchedTokens], ct: ct);
    await app.RunAsync();
    return 0;
});

return await serve.Parse(args).InvokeAsync();
