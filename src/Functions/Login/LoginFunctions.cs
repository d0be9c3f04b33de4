using AccountFunctions.Core.Login;
using AccountFunctions.Functions.Hosting;
using AccountFunctions.Functions.Sessions;
using AccountFunctions.Functions.Verification;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Login;

/// <summary>Sign-in with a password, and sign-in by email (a link or a code).</summary>
public sealed class LoginFunctions(LoginService login, MagicLinkService magic)
{
    [Function("Login"), ClientLimit("login")]
    public async Task<IResult> Login([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login")] HttpRequest req)
    {
        var body = await Json.ReadAsync<LoginRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await login.LoginAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return result.ToHttp(signIn => SessionFunctions.SignInResult(req.HttpContext, signIn));
    }

    [Function("LoginByEmail"), ClientLimit("magic"), TimingFloor]
    public async Task<IResult> RequestEmail([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/email")] HttpRequest req)
    {
        var body = await Json.ReadAsync<VerificationFunctions.EmailRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await magic.RequestAsync(body.Value!.Email, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("RedeemLoginEmail"), ClientLimit("code")]
    public async Task<IResult> Redeem([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/login/email/redeem")] HttpRequest req)
    {
        var body = await Json.ReadAsync<MagicRedeemRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await magic.RedeemAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted);
        return result.ToHttp(signIn => SessionFunctions.SignInResult(req.HttpContext, signIn));
    }
}
