using AccountFunctions.Core;
using AccountFunctions.Core.Accounts;
using AccountFunctions.Core.Manage;
using AccountFunctions.Core.Audit;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Manage;

/// <summary>
/// The admin API: a function key (the host checks it) and a live session whose account is, by
/// what storage says now, an active admin ([RequireAdmin]: 401, then 403).
/// </summary>
public sealed class ManageFunctions(ManageService service, AccountImport import, AuditLog audit)
{
    public sealed record ReasonRequest(string? Reason = null);
    public sealed record InviteRequest(string? Email = null);

    [Function("ListUsers"), RequireAdmin]
    public async Task<Results<JsonHttpResult<AccountPage>, ProblemResult>> List([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/manage/users")] HttpRequest req)
    {
        var query = new ListQuery(req.Query["status"], req.Query["q"], req.Query["cursor"], req.Query["limit"]);
        return (await service.ListAsync(query, req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);
    }

    // Beyond the contract: moving users over from another system with their password hashes.
    [Function("ImportUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Import([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/users/import")] HttpRequest req)
    {
        var body = await Json.ReadAsync<ImportRequest>(req.HttpContext);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await import.ImportAsync(body.Value!, req.HttpContext.RequestAborted)).ToHttp(Answers.Created);
    }

    [Function("GetUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Get([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/manage/users/{id}")] HttpRequest req, string id) =>
        (await service.GetAsync(id, req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);

    [Function("UpdateUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Update([HttpTrigger(AuthorizationLevel.Function, "patch", Route = "api/manage/users/{id}")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        var body = await Json.ReadAsync<ManageUpdate>(http);
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.UpdateAsync(http.Caller().AccountId, id, body.Value!, http.Client(), http.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("ApproveUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Approve([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/users/{id}/approve")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        var body = await ReadOptionalAsync(http, new ReasonRequest());
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.ApproveAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("RejectUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Reject([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/users/{id}/reject")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        var body = await ReadOptionalAsync(http, new ReasonRequest());
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.RejectAsync(http.Caller().AccountId, id, body.Value!.Reason, http.Client(), http.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("LockUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Lock([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/users/{id}/lock")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        var body = await ReadOptionalAsync(http, new ReasonRequest());
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.LockAsync(http.Caller().AccountId, id, body.Value!.Reason, http.Client(), http.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("UnlockUser"), RequireAdmin]
    public async Task<Results<JsonHttpResult<ManagedAccountView>, ProblemResult>> Unlock([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/users/{id}/unlock")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        var body = await ReadOptionalAsync(http, new ReasonRequest());
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.UnlockAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("DeleteUser"), RequireAdmin]
    public async Task<Results<NoContent, ProblemResult>> Delete([HttpTrigger(AuthorizationLevel.Function, "delete", Route = "api/manage/users/{id}")] HttpRequest req, string id)
    {
        var http = req.HttpContext;
        return (await service.DeleteAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(_ => TypedResults.NoContent());
    }

    [Function("ListAudit"), RequireAdmin]
    public async Task<Results<JsonHttpResult<AuditPage>, ProblemResult>> Audit([HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/manage/audit")] HttpRequest req)
    {
        return (await audit.ListAsync(req.Query["accountId"], req.Query["cursor"], req.Query["limit"], req.HttpContext.RequestAborted)).ToHttp(Answers.Ok);
    }

    [Function("CreateInvite"), RequireAdmin]
    public async Task<Results<JsonHttpResult<Invite>, ProblemResult>> Invite([HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/manage/invites")] HttpRequest req)
    {
        var http = req.HttpContext;
        var body = await ReadOptionalAsync(http, new InviteRequest());
        if (!body.Ok) return body.Error!.ToProblem();
        return (await service.CreateInviteAsync(body.Value!.Email, http.Caller().AccountId, http.Client(), http.RequestAborted)).ToHttp(Answers.Created);
    }

    /// <summary>These actions need no body: an empty one counts as <c>{}</c>; anything else is read strictly.</summary>
    private static async Task<Result<T>> ReadOptionalAsync<T>(HttpContext http, T empty) where T : class =>
        http.Request.ContentLength == 0 || (http.Request.ContentLength is null && !http.Request.Headers.ContainsKey("Transfer-Encoding"))
            ? empty
            : await Json.ReadAsync<T>(http);
}
