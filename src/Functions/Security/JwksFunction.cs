using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Security;

/// <summary>The public signing keys (the current one, and the previous one during a rotation).</summary>
public sealed class JwksFunction(AccessTokens tokens)
{
    /// <summary>How long verifiers and caches may keep the key set (docs/operations.md, rotating the signing key).</summary>
    public const string CacheControl = "public, max-age=300";

    [Function("Jwks"), Cacheable(CacheControl)]
    public async Task<JsonHttpResult<object>> Jwks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/.well-known/jwks.json")] HttpRequest req) =>
        TypedResults.Json(await tokens.JwksAsync(), Json.Options, contentType: "application/json");
}
