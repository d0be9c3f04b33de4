using AccountFunctions.Core;
using AccountFunctions.Core.Mfa;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Mfa;

/// <summary>The second factor at sign-in, and TOTP setup, confirmation and removal.</summary>
public sealed class MfaFunctions(MfaChallenges challenges, MfaService mfa)
{
    [Function("CompleteMfa"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<JsonHttpResult<SessionView>, JsonHttpResult<MfaChallenge>, ProblemResult>> Complete([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/mfa")] HttpRequest req)
    {
        var body = await Json.ReadAsync<MfaLoginRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await challenges.CompleteAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return SignInAnswers.Of(req.HttpContext, result);
    }

    [Function("StartTotp"), RequireCaller]
    public async Task<Results<JsonHttpResult<TotpSetup>, ProblemResult>> Start([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/me/mfa/totp")] HttpRequest req) =>
        (await mfa.StartAsync(req.HttpContext.Caller(), req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);

    [Function("ConfirmTotp"), RequireCaller]
    public async Task<Results<JsonHttpResult<RecoveryCodesView>, ProblemResult>> Confirm([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/me/mfa/totp/confirm")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ConfirmTotpRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await mfa.ConfirmAsync(req.HttpContext.Caller(), body.Value!, req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("DisableTotp"), RequireCaller]
    public async Task<Results<NoContent, ProblemResult>> Disable([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/me/mfa/totp")] HttpRequest req)
    {
        var body = await Json.ReadAsync<DisableTotpRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await mfa.DisableAsync(req.HttpContext.Caller(), body.Value!, req.HttpContext.RequestAborted)).ToHttp(_ => TypedResults.NoContent());
    }
}
