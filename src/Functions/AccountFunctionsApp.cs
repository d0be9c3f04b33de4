using System.Reflection;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;

namespace AccountFunctions.Functions;

public static class AccountFunctionsApp
{
    /// <summary>
    /// The isolated worker: the ASP.NET Core integration (HttpRequest in, IResult out), the edge
    /// middleware (logging scope, per-function policies, problem responses), Application Insights,
    /// and every Core service.
    /// </summary>
    /// <param name="configure">Lets tests and the bench replace settings and services before the app is built.</param>
    public static IHost Build(string[] args, Action<FunctionsApplicationBuilder>? configure = null)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, Http.RawForwardedFor>();
        builder.Services.Configure<KestrelServerOptions>(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = Json.MaxBodyBytes;
        });
        builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
        builder.ConfigureLogging(); // before configure: tests replace the providers
        configure?.Invoke(builder); // before AddCore, which reads the settings as it registers
        builder.Services.AddSingleton(FunctionPolicies.Resolve(typeof(AccountFunctionsApp).Assembly)); // throws: the worker does not start
        // After configure: middleware a test or the bench adds runs around the edge.
        builder.UseMiddleware<EdgeMiddleware>();
        builder.Services.AddCore(builder.Configuration);
        builder.Services.AddSingleton<SameOrigin>();
        if (Assembly.GetEntryAssembly() != typeof(AccountFunctionsApp).Assembly) AddGeneratedStartup(builder);
        return builder.Build();
    }

    /// <summary>
    /// The worker finds the source-generated function metadata and executor through the entry
    /// assembly; in a test or bench process that is not this one, so they are added here.
    /// </summary>
    private static void AddGeneratedStartup(FunctionsApplicationBuilder builder)
    {
        var adapter = new ServicesHostBuilder(builder);
        foreach (var type in typeof(AccountFunctionsApp).Assembly.GetTypes()
                     .Where(t => typeof(IAutoConfigureStartup).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract))
            ((IAutoConfigureStartup)Activator.CreateInstance(type)!).Configure(adapter);
    }

    /// <summary>Just enough of an IHostBuilder for the generated startup classes: their ConfigureServices, applied at once.</summary>
    private sealed class ServicesHostBuilder(FunctionsApplicationBuilder builder) : IHostBuilder
    {
        public IDictionary<object, object> Properties { get; } = new Dictionary<object, object>();

        public IHostBuilder ConfigureServices(Action<HostBuilderContext, IServiceCollection> configureDelegate)
        {
            configureDelegate(new HostBuilderContext(Properties) { Configuration = builder.Configuration, HostingEnvironment = builder.Environment }, builder.Services);
            return this;
        }

        public IHost Build() => throw new NotSupportedException();
        public IHostBuilder ConfigureAppConfiguration(Action<HostBuilderContext, IConfigurationBuilder> configureDelegate) => throw new NotSupportedException();
        public IHostBuilder ConfigureContainer<TContainerBuilder>(Action<HostBuilderContext, TContainerBuilder> configureDelegate) => throw new NotSupportedException();
        public IHostBuilder ConfigureHostConfiguration(Action<IConfigurationBuilder> configureDelegate) => throw new NotSupportedException();
        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(IServiceProviderFactory<TContainerBuilder> factory) where TContainerBuilder : notnull => throw new NotSupportedException();
        public IHostBuilder UseServiceProviderFactory<TContainerBuilder>(Func<HostBuilderContext, IServiceProviderFactory<TContainerBuilder>> factory) where TContainerBuilder : notnull => throw new NotSupportedException();
    }
}
