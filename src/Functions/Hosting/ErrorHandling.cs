using AccountFunctions.Core;
using Azure;
using Microsoft.AspNetCore.Diagnostics;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Every error is problem+json with a code: routing's 404/405, Kestrel's 413, and exceptions.
/// Storage failures answer 503 (retry later); anything else is a bug: 500, logged, no details out.
/// </summary>
public static class ErrorHandling
{
    public static void UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = _ => StatusCodes.Status500InternalServerError,
            ExceptionHandler = async http =>
            {
                var exception = http.Features.Get<IExceptionHandlerFeature>()?.Error;
                var error = Classify(exception, http);
                if (error.Status >= 500)
                    app.Logger.LogError(exception, "Request {Method} {Path} failed", http.Request.Method, http.Request.Path);
                http.Response.StatusCode = error.Status;
                await error.ToProblem().ExecuteAsync(http);
            },
        });
        app.UseStatusCodePages(async context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            var error = status switch
            {
                404 => Errors.NotFound,
                405 => Errors.MethodNotAllowed,
                413 => Errors.PayloadTooLarge,
                415 => Errors.UnsupportedMediaType,
                _ => new Error("http_" + status, status, "The request failed."),
            };
            await error.ToProblem().ExecuteAsync(context.HttpContext);
        });
    }

    private static Error Classify(Exception? exception, HttpContext http) => exception switch
    {
        BadHttpRequestException { StatusCode: 413 } => Errors.PayloadTooLarge,
        BadHttpRequestException bad => new Error("bad_request", bad.StatusCode, "The request could not be read."),
        ConcurrencyConflictException => Errors.ConcurrentUpdate with { RetryAfter = TimeSpan.FromSeconds(1) },
        RequestFailedException or HttpRequestException or TimeoutException => Unavailable,
        AggregateException agg when agg.InnerExceptions.All(e => e is RequestFailedException or HttpRequestException) => Unavailable,
        TaskCanceledException when !http.RequestAborted.IsCancellationRequested => Unavailable,
        OperationCanceledException => new Error("request_aborted", 499, "The request was aborted."),
        _ => new Error("internal_error", 500, "Something went wrong on our side."),
    };

    private static readonly Error Unavailable = Errors.StorageUnavailable with { RetryAfter = TimeSpan.FromSeconds(5) };
}
