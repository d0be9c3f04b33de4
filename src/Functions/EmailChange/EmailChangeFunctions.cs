using AccountFunctions.Core.EmailChange;
using AccountFunctions.Core.Security;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.EmailChange;

/// <summary>Changing the address (confirmed through /api/email/verify) and reverting a change from the old address.</summary>
public sealed class EmailChangeFunctions(EmailChangeService service)
{
    // 202 {"status":"confirmation_sent"} whether or not the new address belongs to someone else;
    // 202 {"status":"code_sent"} for a passwordless account's first call (no code yet).
    [Function("ChangeEmail"), RequireCaller]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> Change([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/me/email")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ChangeEmailRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.RequestAsync(req.HttpContext.Caller(), body.Value!, req.HttpContext.RequestAborted)).ToHttp(Answers.Accepted);
    }

    [Function("RevertEmail"), ClientLimit(ClientLimitGroup.CodeEntry)]
    public async Task<Results<JsonHttpResult<StatusAnswer>, ProblemResult>> Revert([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/email/revert")] HttpRequest req)
    {
        var body = await Json.ReadAsync<RevertRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        var result = await service.RevertAsync(body.Value!.Token, req.HttpContext.Client().IpAddress, req.HttpContext.RequestAborted);
        return result.ToHttp(status => Answers.Ok(new StatusAnswer(status)));
    }
}
