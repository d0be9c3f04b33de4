using AccountFunctions.Core;
using AccountFunctions.Core.Approval;
using AccountFunctions.Core.Audit;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

/// <summary>
/// The admin API. Every route needs a live session (401) whose account is, by what storage says
/// now, an active admin (403): the token's role claim alone could be up to a token-life stale.
/// </summary>
public static class ManageEndpoints
{
    public sealed record ReasonRequest(string? Reason = null);
    public sealed record InviteRequest(string? Email = null);

    public static void MapManage(this IEndpointRouteBuilder app)
    {
        var manage = app.MapGroup("/api/manage").RequireCaller().AddEndpointFilter(async (context, next) =>
        {
            // The account as stored now, read with the session: a token's role claim may be stale.
            var http = context.HttpContext;
            return http.Caller().Account is { Role: Roles.Admin, Status: AccountStatus.Active }
                ? await next(context)
                : Errors.Forbidden.ToProblem();
        });

        manage.MapGet("/users", async (HttpContext http, ManageService service, string? status, string? q, string? cursor, string? limit) =>
            (await service.ListAsync(new ListQuery(status, q, cursor, limit), http.RequestAborted)).ToHttp(page => Results.Json(page, Json.Options)));

        // Beyond the contract: moving users over from another system with their password hashes.
        manage.MapPost("/users/import", async (HttpContext http, Core.Accounts.AccountImport import) =>
        {
            var body = await Json.ReadAsync<Core.Accounts.ImportRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await import.ImportAsync(body.Value!, http.RequestAborted))
                .ToHttp(account => Results.Json(account, Json.Options, statusCode: StatusCodes.Status201Created));
        });

        manage.MapGet("/users/{id}", async (HttpContext http, ManageService service, string id) =>
            (await service.GetAsync(id, http.RequestAborted)).ToHttp(Ok));

        manage.MapPatch("/users/{id}", async (HttpContext http, ManageService service, string id) =>
        {
            var body = await Json.ReadAsync<ManageUpdate>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await service.UpdateAsync(http.Caller().AccountId, id, body.Value!, http.Client(), http.RequestAborted)).ToHttp(Ok);
        });

        manage.MapPost("/users/{id}/approve", async (HttpContext http, ManageService service, string id) =>
        {
            var body = await ReadOptionalAsync(http, new ReasonRequest());
            if (!body.Ok) return body.Error!.ToProblem();
            return (await service.ApproveAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(Ok);
        });

        manage.MapPost("/users/{id}/reject", async (HttpContext http, ManageService service, string id) =>
        {
            var body = await ReadOptionalAsync(http, new ReasonRequest());
            if (!body.Ok) return body.Error!.ToProblem();
            return (await service.RejectAsync(http.Caller().AccountId, id, body.Value!.Reason, http.Client(), http.RequestAborted)).ToHttp(Ok);
        });

        manage.MapPost("/users/{id}/lock", async (HttpContext http, ManageService service, string id) =>
        {
            var body = await ReadOptionalAsync(http, new ReasonRequest());
            if (!body.Ok) return body.Error!.ToProblem();
            return (await service.LockAsync(http.Caller().AccountId, id, body.Value!.Reason, http.Client(), http.RequestAborted)).ToHttp(Ok);
        });

        manage.MapPost("/users/{id}/unlock", async (HttpContext http, ManageService service, string id) =>
        {
            var body = await ReadOptionalAsync(http, new ReasonRequest());
            if (!body.Ok) return body.Error!.ToProblem();
            return (await service.UnlockAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(Ok);
        });

        manage.MapDelete("/users/{id}", async (HttpContext http, ManageService service, string id) =>
            (await service.DeleteAsync(http.Caller().AccountId, id, http.Client(), http.RequestAborted)).ToHttp(_ => Results.NoContent()));

        manage.MapGet("/audit", async (HttpContext http, AuditLog audit, string? accountId, string? cursor, string? limit) =>
            (await audit.ListAsync(accountId, cursor, limit, http.RequestAborted)).ToHttp(page => Results.Json(page, Json.Options)));

        manage.MapPost("/invites", async (HttpContext http, ManageService service) =>
        {
            var body = await ReadOptionalAsync(http, new InviteRequest());
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await service.CreateInviteAsync(body.Value!.Email, http.Caller().AccountId, http.Client(), http.RequestAborted);
            return result.ToHttp(invite => Results.Json(invite, Json.Options, statusCode: StatusCodes.Status201Created));
        });
    }

    private static IResult Ok(ManagedAccountView account) => Results.Json(account, Json.Options);

    /// <summary>These actions need no body: an empty one counts as <c>{}</c>; anything else is read strictly.</summary>
    private static async Task<Result<T>> ReadOptionalAsync<T>(HttpContext http, T empty) where T : class =>
        http.Request.ContentLength == 0 ? empty : await Json.ReadAsync<T>(http);
}
