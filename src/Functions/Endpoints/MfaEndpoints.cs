using AccountFunctions.Core.Mfa;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

public static class MfaEndpoints
{
    public static void MapMfa(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/login/mfa", async (HttpContext http, MfaChallenges challenges) =>
        {
            var body = await Json.ReadAsync<MfaLoginRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await challenges.CompleteAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(signIn => SessionEndpoints.SignInResult(http, signIn));
        });

        app.MapPost("/api/me/mfa/totp", async (HttpContext http, MfaService mfa) =>
            (await mfa.StartAsync(http.Caller(), http.RequestAborted)).ToHttp(setup => Results.Json(setup, Json.Options))).RequireCaller();

        app.MapPost("/api/me/mfa/totp/confirm", async (HttpContext http, MfaService mfa) =>
        {
            var body = await Json.ReadAsync<ConfirmTotpRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await mfa.ConfirmAsync(http.Caller(), body.Value!, http.RequestAborted)).ToHttp(codes => Results.Json(codes, Json.Options));
        }).RequireCaller();

        app.MapDelete("/api/me/mfa/totp", async (HttpContext http, MfaService mfa) =>
        {
            var body = await Json.ReadAsync<DisableTotpRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            return (await mfa.DisableAsync(http.Caller(), body.Value!, http.RequestAborted)).ToHttp(_ => Results.NoContent());
        }).RequireCaller();
    }
}
