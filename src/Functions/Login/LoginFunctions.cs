using AccountFunctions.Core;
using AccountFunctions.Core.Login;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Login;

/// <summary>Sign-in with a password, and sign-in by email (a link or a code).</summary>
public sealed class LoginFunctions(LoginService login, MagicLinkService magic)
{
    [Function("Login"), ClientLimit(ClientLimitGroup.Login)]
    public async Task<Results<JsonHttpResult<SessionView>, JsonHttpResult<MfaChallenge>, ProblemResult>> Login([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login")] HttpRequest req)
    {
        var body = await Json.ReadAsync<LoginRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await login.LoginAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return SignInAnswers.Of(req.HttpContext, result);
    }

    [Function("LoginByEmail"), ClientLimit(ClientLimitGroup.MagicLink), TimingFloor]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> RequestEmail([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/email")] HttpRequest req)
    {
        var body = await Json.ReadAsync<EmailRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await magic.RequestAsync(body.Value!.Email, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("RedeemLoginEmail"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<JsonHttpResult<SessionView>, JsonHttpResult<MfaChallenge>, ProblemResult>> Redeem([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/email/redeem")] HttpRequest req)
    {
        var body = await Json.ReadAsync<MagicRedeemRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await magic.RedeemAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return SignInAnswers.Of(req.HttpContext, result);
    }
}
