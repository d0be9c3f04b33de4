using AccountFunctions.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AccountFunctions.Functions.Hosting;

/// <summary>The one place that turns an Error into RFC 7807 problem+json.</summary>
public static class Problems
{
    public static ProblemResult ToProblem(this Error error)
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

    public static Results<TOk, ProblemResult> ToHttp<T, TOk>(this Result<T> result, Func<T, TOk> ok) where TOk : IResult =>
        result.Ok ? ok(result.Value!) : result.Error!.ToProblem();
}

/// <summary>
/// A problem+json answer, with <c>Retry-After</c> when the error has one and the Bearer challenge on
/// a 401. Not <see cref="ProblemHttpResult"/>: that one serialises with the host's JSON options or a
/// problem-details service, which may add a trace id.
/// </summary>
public sealed class ProblemResult : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ProblemDetails>, IContentTypeHttpResult
{
    internal ProblemResult(ProblemDetails problem, TimeSpan? retryAfter)
    {
        Value = problem;
        RetryAfter = retryAfter;
    }

    public ProblemDetails Value { get; }
    public TimeSpan? RetryAfter { get; }
    public int StatusCode => Value.Status ?? StatusCodes.Status500InternalServerError;
    int? IStatusCodeHttpResult.StatusCode => StatusCode;
    object? IValueHttpResult.Value => Value;
    public string ContentType => "application/problem+json";

    public Task ExecuteAsync(HttpContext context)
    {
        if (RetryAfter is { } wait)
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString();
        if (StatusCode == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        // Written directly (no trace id): the same outcome gives byte-identical bodies, which
        // the enumeration-safe answers rely on.
        context.Response.StatusCode = StatusCode;
        return context.Response.WriteAsJsonAsync(Value, Value.GetType(), Json.Options, ContentType);
    }
}
