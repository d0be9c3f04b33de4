using AccountFunctions.Core;
using Microsoft.AspNetCore.Mvc;

namespace AccountFunctions.Functions.Hosting;

/// <summary>The one place that turns an Error into RFC 7807 problem+json.</summary>
public static class Problems
{
    public static IResult ToProblem(this Error error)
    {
        var problem = error.Errors is { } fields
            ? new HttpValidationProblemDetails(fields.ToDictionary(k => k.Key, v => v.Value))
            : new ProblemDetails();
        problem.Status = error.Status;
        problem.Title = error.Title;
        problem.Type = "about:blank";
        problem.Extensions["code"] = error.Code;
        return new ProblemResult(problem, error.RetryAfter);
    }

    public static IResult ToHttp<T>(this Result<T> result, Func<T, IResult> ok) => result.Ok ? ok(result.Value!) : result.Error!.ToProblem();

    private sealed class ProblemResult(ProblemDetails problem, TimeSpan? retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            if (retryAfter is { } wait)
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString();
            if (problem.Status == StatusCodes.Status401Unauthorized)
                context.Response.Headers.WWWAuthenticate = "Bearer";
            // Written directly (no trace id): the same outcome gives byte-identical bodies, which
            // the enumeration-safe answers rely on.
            context.Response.StatusCode = problem.Status ?? 500;
            return context.Response.WriteAsJsonAsync(problem, problem.GetType(), Json.Options, "application/problem+json");
        }
    }
}
