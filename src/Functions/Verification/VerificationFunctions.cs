using AccountFunctions.Core.Verification;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Verification;

/// <summary>Confirming an address (link token or code) and asking for a new message.</summary>
public sealed class VerificationFunctions(VerificationService verification)
{
    [Function("VerifyEmail"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<JsonHttpResult<VerifyResult>, ProblemResult>> Verify([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/email/verify")] HttpRequest req)
    {
        var body = await Json.ReadAsync<VerifyRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await verification.VerifyAsync(body.Value!, req.HttpContext.Client(), req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("ResendVerification"), ClientLimit(ClientLimitGroup.Resend), TimingFloor]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> Resend([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/email/resend")] HttpRequest req)
    {
        var body = await Json.ReadAsync<EmailRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await verification.ResendAsync(body.Value!.Email, req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }
}
