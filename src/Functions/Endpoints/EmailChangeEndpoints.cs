using AccountFunctions.Core.EmailChange;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

public static class EmailChangeEndpoints
{
    public static void MapEmailChange(this IEndpointRouteBuilder app)
    {
        // 202 {"status":"confirmation_sent"} whether or not the new address belongs to someone else;
        // 202 {"status":"code_sent"} for a passwordless account's first call (no code yet).
        app.MapPost("/api/me/email", async (HttpContext http, EmailChangeService service) =>
        {
            var body = await Json.ReadAsync<ChangeEmailRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await service.RequestAsync(http.Caller(), body.Value!, http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).RequireCaller();

        app.MapPost("/api/email/revert", async (HttpContext http, EmailChangeService service) =>
        {
            var body = await Json.ReadAsync<RevertRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await service.RevertAsync(body.Value!.Token, http.Client().IpAddress, http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options));
        });
    }
}
