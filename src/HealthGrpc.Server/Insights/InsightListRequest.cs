using System.Globalization;
using HealthGrpc.Contracts.V1;
using HealthGrpc.Server.Query;
using StoredKind = HealthGrpc.Storage.InsightKind;

namespace HealthGrpc.Server.Insights;

/// <summary>A ListInsights request, validated: the kinds asked for (all when none), the page size and where the page starts.</summary>
internal sealed record InsightListRequest(IReadOnlyList<StoredKind> Kinds, bool UnacknowledgedOnly, bool IncludeClosed, int PageSize, long? BeforeId)
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;
    private const string TokenPrefix = "i1.";

    public static InsightListRequest From(ListInsightsRequest request)
    {
        var kinds = new List<StoredKind>();
        for (var i = 0; i < request.Kinds.Count; i++)
        {
            var kind = request.Kinds[i];
            if (kind == Contracts.V1.InsightKind.Unspecified || !Enum.IsDefined(kind))
            {
                throw QueryRejectedException.Invalid($"kinds[{i}]", $"is {(int)kind}, not a known insight kind.");
            }

            if (!kinds.Contains((StoredKind)kind))
            {
                kinds.Add((StoredKind)kind);
            }
        }

        var size = request.PageSize == 0 ? DefaultPageSize : (int)Math.Min(request.PageSize, MaxPageSize);
        return new InsightListRequest(
            kinds.Count == 0 ? InsightKinds.All : kinds, request.UnacknowledgedOnly, request.IncludeClosed, size, ParseToken(request.PageToken));
    }

    /// <summary>The token of the page after the one ending at insight row <paramref name="lastId"/> (pages go newest first, by row id).</summary>
    public static string Token(long lastId) => TokenPrefix + lastId.ToString(CultureInfo.InvariantCulture);

    private static long? ParseToken(string token)
    {
        if (token.Length == 0)
        {
            return null;
        }

        return token.StartsWith(TokenPrefix, StringComparison.Ordinal)
            && long.TryParse(token.AsSpan(TokenPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw QueryRejectedException.Invalid("page_token", "is not a token this server issued for ListInsights.");
    }
}
