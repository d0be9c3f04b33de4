using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Logs: JSON lines on the console in Azure (the Functions host collects the handler's stdout),
/// one-line simple console locally; scopes included either way. Every request runs in a scope
/// carrying the Functions invocation id (<c>X-Azure-Functions-InvocationId</c>, which the host
/// sends) and a correlation id (a well-formed incoming <c>X-Correlation-Id</c>, else a new one,
/// echoed in the response), and ends with one line: method, path (never the query string, which
/// can hold a link's token), status, duration. ASP.NET Core's own request lines, which include
/// the query string, are kept at Warning and above.
/// </summary>
public static partial class RequestLogging
{
    public const string InvocationHeader = "X-Azure-Functions-InvocationId";
    public const string CorrelationHeader = "X-Correlation-Id";

    public static void ConfigureLogging(this WebApplicationBuilder builder)
    {
        var logging = builder.Logging;
        logging.ClearProviders();
        var format = builder.Configuration["Logging:Format"];
        var inAzure = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WEBSITE_SITE_NAME"));
        if (format?.Equals("json", StringComparison.OrdinalIgnoreCase) ?? inAzure)
            logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; o.UseUtcTimestamp = true; });
        else
            logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex WellFormed();

    public static string CorrelationId(string? incoming) =>
        incoming is { } c && WellFormed().IsMatch(c) ? c : Guid.NewGuid().ToString("N");

    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app)
    {
        var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("AccountFunctions.Requests");
        return app.Use(async (http, next) =>
        {
            var correlation = CorrelationId(http.Request.Headers[CorrelationHeader].FirstOrDefault());
            var invocation = http.Request.Headers[InvocationHeader].FirstOrDefault() is { } i && WellFormed().IsMatch(i) ? i : null;
            http.Response.Headers[CorrelationHeader] = correlation;
            var scope = new Dictionary<string, object?> { ["CorrelationId"] = correlation };
            if (invocation is not null) scope["InvocationId"] = invocation;
            using (log.BeginScope(scope))
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await next(http);
                }
                finally
                {
                    log.LogInformation("HTTP {Method} {Path} answered {Status} in {ElapsedMs:0.0} ms", http.Request.Method,
                        http.Request.Path.Value, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        });
    }
}
