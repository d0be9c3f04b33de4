using AccountFunctions.Core.Signup;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Signup;

/// <summary>Signup with a password, without one (email code or link), and anonymous (account number).</summary>
public sealed class SignupFunctions(SignupService signup)
{
    [Function("Signup"), ClientLimit(ClientLimitGroup.Signup), TimingFloor]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> Signup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/signup")] HttpRequest req)
    {
        var body = await Json.ReadAsync<SignupRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await signup.SignupAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("SignupPasswordless"), ClientLimit(ClientLimitGroup.Signup), TimingFloor]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> SignupPasswordless([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/signup/email")] HttpRequest req)
    {
        var body = await Json.ReadAsync<PasswordlessSignupRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await signup.SignupPasswordlessAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("SignupAnonymous"), ClientLimit(ClientLimitGroup.Signup)]
    public async Task<Results<JsonHttpResult<AnonymousSignupResult>, ProblemResult>> SignupAnonymous([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/signup/anonymous")] HttpRequest req)
    {
        var body = await Json.ReadAsync<AnonymousSignupRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await signup.SignupAnonymousAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Created);
    }
}
