using AccountFunctions.Core.Recovery;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

public static class RecoveryEndpoints
{
    public static void MapRecovery(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/password/forgot", async (HttpContext http, RecoveryService recovery) =>
        {
            var body = await Json.ReadAsync<RegistrationEndpoints.ResendRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await recovery.ForgotAsync(body.Value!.Email, http.Client(), http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).WithTimingFloor();

        app.MapPost("/api/password/reset", async (HttpContext http, RecoveryService recovery) =>
        {
            var body = await Json.ReadAsync<ResetRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await recovery.ResetAsync(body.Value!, http.Client(), http.RequestAborted)).ToHttp(_ => Results.NoContent());
        });

        app.MapPost("/api/me/password", async (HttpContext http, RecoveryService recovery) =>
        {
            var body = await Json.ReadAsync<ChangePasswordRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await recovery.ChangeAsync(http.Caller(), body.Value!, http.Client(), http.RequestAborted)).ToHttp(_ => Results.NoContent());
        }).RequireCaller();
    }
}
