using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Security;

/// <summary>The public signing keys (the current one, and the previous one during a rotation).</summary>
public sealed class JwksFunction(AccessTokens tokens)
{
    [Function("Jwks")]
    public async Task<JsonHttpResult<object>> Jwks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/.well-known/jwks.json")] HttpRequest req) =>
        TypedResults.Json(await tokens.JwksAsync(), Json.Options, contentType: "application/json");
}
