using AccountFunctions.Core;
using AccountFunctions.Core.Signup;
using AccountFunctions.Core.Verification;
using AccountFunctions.Functions.Hosting;

namespace AccountFunctions.Functions.Endpoints;

public static class RegistrationEndpoints
{
    public sealed record ResendRequest(string? Email);

    public static void MapRegistration(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/signup", async (HttpContext http, SignupService signup) =>
        {
            var body = await Json.ReadAsync<SignupRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await signup.SignupAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).WithTimingFloor();

        app.MapPost("/api/signup/email", async (HttpContext http, SignupService signup) =>
        {
            var body = await Json.ReadAsync<PasswordlessSignupRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await signup.SignupPasswordlessAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).WithTimingFloor();

        app.MapPost("/api/signup/anonymous", async (HttpContext http, SignupService signup) =>
        {
            var body = await Json.ReadAsync<AnonymousSignupRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await signup.SignupAnonymousAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(r => Results.Json(r, Json.Options, statusCode: StatusCodes.Status201Created));
        });

        app.MapPost("/api/email/verify", async (HttpContext http, VerificationService verification) =>
        {
            var body = await Json.ReadAsync<VerifyRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await verification.VerifyAsync(body.Value!, http.Client(), http.RequestAborted);
            return result.ToHttp(r => Results.Json(r, Json.Options));
        });

        app.MapPost("/api/email/resend", async (HttpContext http, VerificationService verification) =>
        {
            var body = await Json.ReadAsync<ResendRequest>(http);
            if (!body.Ok) return body.Error!.ToProblem();
            var result = await verification.ResendAsync(body.Value!.Email, http.RequestAborted);
            return result.ToHttp(status => Results.Json(new { status }, Json.Options, statusCode: StatusCodes.Status202Accepted));
        }).WithTimingFloor();
    }
}
