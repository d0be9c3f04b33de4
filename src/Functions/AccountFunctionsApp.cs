using AccountFunctions.Functions.Endpoints;
using AccountFunctions.Functions.Hosting;
using AccountFunctions.Functions.Triggers;

namespace AccountFunctions.Functions;

public static class AccountFunctionsApp
{
    /// <param name="configure">Lets tests replace settings and services before the app is built.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        // The Functions host tells the handler where to listen; it forwards to 127.0.0.1 only.
        if (Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT") is { Length: > 0 } port)
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        else if (string.IsNullOrEmpty(builder.Configuration["urls"]))
            builder.WebHost.UseUrls("http://localhost:7071");
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = Json.MaxBodyBytes;
        });
        builder.Services.AddProblemDetails();
        builder.ConfigureLogging(); // before configure: tests replace the providers
        configure?.Invoke(builder); // before AddCore, which reads the settings as it registers
        builder.Services.AddCore(builder.Configuration);

        var app = builder.Build();
        app.UseRequestLogging();
        app.UseProblemResponses();
        app.UseClientLimits();
        app.MapGet("/", () => Results.Text("Account Functions is running.\n"));
        app.MapRegistration();
        app.MapSessions();
        app.MapTriggers();
        app.MapRecovery();
        app.MapManage();
        app.MapEmailChange();
        app.MapExternalLogin();
        app.MapMfa();
        app.MapPages();
        app.MapOperations();
        return app;
    }
}
