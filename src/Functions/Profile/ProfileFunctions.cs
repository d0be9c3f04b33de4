using System.Text.Json;
using System.Text.Json.Nodes;
using AccountFunctions.Core;
using AccountFunctions.Core.External;
using AccountFunctions.Core.Profile;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Functions.Profile;

/// <summary>The caller's own account: read, edit, delete.</summary>
public sealed class ProfileFunctions(ProfileService profiles, ILogger<ProfileFunctions> log)
{
    public sealed record DeleteMeRequest(string? CurrentPassword);

    // The account was read with the session by [RequireCaller]: one storage call in all.
    [Function("GetMe"), RequireCaller]
    public Results<JsonHttpResult<JsonObject>, ProblemResult> Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/me")] HttpRequest req) =>
        req.HttpContext.Caller().Account is { } account ? Answers.Ok(MeView(account, log)) : Errors.Unauthorized.ToProblem();

    [Function("UpdateMe"), RequireCaller]
    public async Task<Results<JsonHttpResult<AccountView>, ProblemResult>> Update([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/me")] HttpRequest req)
    {
        var body = await Json.ReadAsync<Dictionary<string, JsonElement>>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await profiles.UpdateAsync(req.HttpContext.Caller().AccountId, body.Value!, req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("DeleteMe"), RequireCaller]
    public async Task<Results<NoContent, ProblemResult>> Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/me")] HttpRequest req)
    {
        var body = await Json.ReadAsync<DeleteMeRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await profiles.DeleteAsync(req.HttpContext.Caller().AccountId, body.Value!.CurrentPassword, req.HttpContext.RequestAborted);
        return result.ToHttp(_ => TypedResults.NoContent());
    }

    /// <summary>GET /api/me's Account plus <c>externalLogins: [{provider, linkedAt}]</c> (beyond the contract).</summary>
    public static JsonObject MeView(Account account, ILogger? log = null)
    {
        var view = JsonSerializer.SerializeToNode(AccountView.From(account, log), Json.Options)!.AsObject();
        view["externalLogins"] = JsonSerializer.SerializeToNode(ExternalLinks.View(account), Json.Options);
        return view;
    }
}
