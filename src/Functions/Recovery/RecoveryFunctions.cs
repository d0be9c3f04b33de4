using AccountFunctions.Core.Recovery;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Recovery;

/// <summary>Forgot and reset password, and a signed-in change of password.</summary>
public sealed class RecoveryFunctions(RecoveryService recovery)
{
    [Function("ForgotPassword"), ClientLimit(ClientLimitGroup.Forgot), TimingFloor]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> Forgot([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/password/forgot")] HttpRequest req)
    {
        var body = await Json.ReadAsync<EmailRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await recovery.ForgotAsync(body.Value!.Email, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("ResetPassword"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<NoContent, ProblemResult>> Reset([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/password/reset")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ResetRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await recovery.ResetAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(_ => TypedResults.NoContent());
    }

    [Function("ChangePassword"), RequireCaller]
    public async Task<Results<NoContent, ProblemResult>> Change([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/me/password")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ChangePasswordRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var http = req.HttpContext;
        return (await recovery.ChangeAsync(http.Caller(), body.Value!, http.Client(), http.RequestAborted)).ToHttp(_ => TypedResults.NoContent());
    }
}
