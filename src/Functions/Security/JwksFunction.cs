using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Security;

/// <summary>The public signing keys (the current one, and the previous one during a rotation).</summary>
public sealed class JwksFunction(AccessTokens tokens)
{
    [Function("Jwks")]
    public async Task<IResult> Jwks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/.well-known/jwks.json")] HttpRequest req) =>
        Results.Json(await tokens.JwksAsync(), Json.Options, contentType: "application/json");
}
