using Microsoft.Azure.Functions.Worker.Builder;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// Logs go to the Functions host over the worker's own channel (and to Application Insights
/// through Worker.ApplicationInsights when a connection string is set). Beside those, a console:
/// JSON lines in Azure, one-line simple locally; scopes (the invocation id, the correlation id)
/// included either way. ASP.NET Core's own request lines, which include the query string, are kept
/// at Warning and above.
/// </summary>
public static class Logs
{
    public static void ConfigureLogging(this FunctionsApplicationBuilder builder)
    {
        var logging = builder.Logging;
        var format = builder.Configuration["Logging:Format"];
        var inAzure = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WEBSITE_SITE_NAME"));
        if (format?.Equals("json", StringComparison.OrdinalIgnoreCase) ?? inAzure)
            logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; o.UseUtcTimestamp = true; });
        else
            logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    }
}
